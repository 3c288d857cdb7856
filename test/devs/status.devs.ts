// Runs in the DeviceScript VM: the status page builder and the status service (port 80)
// answering a client on a second NetStack across a MemoryLink. Small configs: 64 KB heap.
import { describe, test, expect } from "@devicescript/test"
import { makeConfig } from "../../src/config"
import { DsScheduler } from "../../src/hw/ds-scheduler"
import { NetStack } from "../../src/stack"
import { MemoryLink } from "../../src/socket/memory-link"
import { TcpSocket } from "../../src/socket/socket"
import { StatusServer } from "../../src/apps/status"
import { allocBytes, allocationCount } from "../../src/util/bytes"

function cfg(ip: string, macLast: number) {
    return makeConfig({
        mac: [2, 0, 0, 0, 0, macLast],
        ip: ip,
        netmask: "255.255.255.0",
        gateway: "10.0.0.254",
        mtu: 576,
        txFrames: 2,
        arpEntries: 2,
        tcpConnections: 2,
        tcpListeners: 2,
        tcpSynQueue: 1,
        tcpBacklogMax: 1,
        tcpSendBuffer: 512,
        tcpRecvBuffer: 512,
        tcpTimeWaitMs: 1000,
        tcpSecretSeed: macLast,
    })
}

const sched = new DsScheduler()
const link = new MemoryLink(2, 600)
const a = new NetStack(cfg("10.0.0.1", 1), sched, link.a, { idlePollMs: 20 })
const b = new NetStack(cfg("10.0.0.2", 2), sched, link.b, { idlePollMs: 20 })
link.a.notify = a.rxNotify
link.b.notify = b.rxNotify
const status = new StatusServer(a, { pageSize: 1200, timeoutMs: 300, driverCounters: { spiTransactions: 42, busErrors: 0 } })

/** The valid part of the page as a string. */
function pageText(n: number): string {
    return status.page.buf.slice(0, n).toString()
}

/** Everything the server sends until it closes. */
async function readAll(c: TcpSocket, into: Buffer): Promise<string> {
    let n = 0
    for (;;) {
        const r = await c.read(into, n, into.length - n)
        if (r === 0) break
        n += r
    }
    return into.slice(0, n).toString()
}

describe("status page in the VM", () => {
    test("the builder renders addresses, listeners and counters into its buffer", async () => {
        await a.start()
        await b.start()
        status.start()
        const n = status.page.render(sched.nowMs(), "")
        const text = pageText(n)
        expect(text.indexOf("ip 10.0.0.1 mask 255.255.255.0 gw 10.0.0.254 mac 02:00:00:00:00:01 static\n") > 0).toBe(true)
        expect(text.indexOf("10.0.0.1:80           0.0.0.0:*             LISTEN       syn-q 0/1 accept-q 0/1\n") > 0).toBe(true)
        expect(text.indexOf("driver: spiTransactions=42\n") > 0).toBe(true)
        expect(text.indexOf("busErrors") < 0).toBe(true)
        expect(status.page.truncated).toBe(false)
        // Rendering again allocates no buffer.
        const before = allocationCount()
        expect(status.page.render(sched.nowMs(), "")).toBe(n)
        expect(allocationCount()).toBe(before)
    })

    test("a client reads the page: its own connection ESTABLISHED, a listener's accept queue", async () => {
        const l = a.sockets.listen(7, 1)
        const c1 = await b.sockets.connect("10.0.0.1", 7) // waits in 7's accept queue
        const c = await b.sockets.connect("10.0.0.1", 80)
        const req = Buffer.from("GET / HTTP/1.0\r\n\r\n")
        await c.write(req, 0, req.length)
        const text = await readAll(c, allocBytes(1400))
        await c.close()
        expect(text.indexOf("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n") === 0).toBe(true)
        expect(text.indexOf("10.0.0.1:7            0.0.0.0:*             LISTEN       syn-q 0/1 accept-q 1/1\n") > 0).toBe(true)
        expect(text.indexOf("10.0.0.1:7            10.0.0.2:" + c1.localPort + " ") > 0).toBe(true)
        expect(text.indexOf("10.0.0.1:80           10.0.0.2:" + c.localPort + "        ESTABLISHED\n") > 0).toBe(true)
        expect(text.indexOf("\narp\n10.0.0.2 lladdr 02:00:00:00:00:02 resolved age ") > 0).toBe(true)
        expect(text.indexOf(" rxFrames=") > 0).toBe(true)
        expect(status.served).toBe(1)
        c1.abort()
        l.close()
    })

    test("a client that sends nothing is answered after the timeout", async () => {
        const t0 = sched.nowMs()
        const c = await b.sockets.connect("10.0.0.1", 80)
        const text = await readAll(c, allocBytes(1400))
        await c.close()
        expect(text.indexOf("HTTP/1.0 200 OK") === 0).toBe(true)
        expect(sched.nowMs() - t0 >= 290).toBe(true)
        expect(status.served).toBe(2)
        status.stop()
    })
})
