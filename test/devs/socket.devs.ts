// Runs in the DeviceScript VM: the fiber Scheduler (src/hw/ds-scheduler.ts), two whole
// NetStacks joined by a MemoryLink, the socket API in both forms, and the echo and
// discard apps serving a client across the link. Small configs: the VM heap is 64 KB.
import { describe, test, expect } from "@devicescript/test"
import * as ds from "@devicescript/core"
import { makeConfig } from "../../src/config"
import { DsScheduler } from "../../src/hw/ds-scheduler"
import { NetStack } from "../../src/stack"
import { MemoryLink } from "../../src/socket/memory-link"
import { POLLIN, POLLOUT, PollSet } from "../../src/socket/poll"
import { TcpSocket, WOULD_BLOCK } from "../../src/socket/socket"
import { EchoServer } from "../../src/apps/echo"
import { DiscardServer } from "../../src/apps/discard"
import { SocketError, ECONNREFUSED, ECONNRESET, EADDRINUSE } from "../../src/tcp/errors"
import { allocBytes, allocationCount } from "../../src/util/bytes"

function cfg(ip: string, macLast: number) {
    return makeConfig({
        mac: [2, 0, 0, 0, 0, macLast],
        ip: ip,
        netmask: "255.255.255.0",
        gateway: "10.0.0.254",
        mtu: 576,
        txFrames: 2,
        arpEntries: 1,
        tcpConnections: 1,
        tcpListeners: 1,
        tcpSynQueue: 1,
        tcpBacklogMax: 1,
        tcpSendBuffer: 768,
        tcpRecvBuffer: 768,
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
let started = false

async function up() {
    if (started) return
    started = true
    await a.start()
    await b.start()
}

function fill(buf: Buffer, seed: number) {
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7 + seed) & 0xff
}

describe("sockets in the VM", () => {
    test("the fiber waiter: wake, timeout, and a wake that came first", async () => {
        const w = sched.createWaiter()
        const t0 = sched.nowMs()
        expect(await w.wait(30)).toBe(false)
        expect(sched.nowMs() - t0 >= 25).toBe(true)
        w.wake()
        expect(await w.wait(1000)).toBe(true)
    })

    test("echo app: a client's data comes back byte-exact, then half-close ends it", async () => {
        await up()
        const echo = new EchoServer(a.sockets, { bufferSize: 256, maxClients: 1, backlog: 1 })
        echo.start()
        const c = await b.sockets.connect("10.0.0.1", 7)
        expect(c.state()).toBe("ESTABLISHED")
        const out = allocBytes(1500)
        fill(out, 3)
        const back = allocBytes(1500)
        let sent = 0
        let got = 0
        // One task: write what fits, read what came, until all is back.
        for (let round = 0; round < 2000 && got < out.length; round++) {
            if (sent < out.length) {
                const n = c.writeNow(out, sent, out.length - sent)
                if (n > 0) sent += n
                else expect(n).toBe(WOULD_BLOCK)
            }
            const r = c.readNow(back, got, back.length - got)
            if (r > 0) got += r
            else await ds.sleep(1)
        }
        expect(got).toBe(1500)
        let same = true
        for (let i = 0; i < 1500; i++) if (back[i] !== out[i]) same = false
        expect(same).toBe(true)
        c.shutdown()
        expect(await c.read(back, 0, 10)).toBe(0)
        expect(echo.finished).toBe(1)
        echo.stop()
        c.closeNow()
    })

    test("blocking calls, poll, netstat and errors", async () => {
        await up()
        const l = a.sockets.listen(80, 1)
        let code = 0
        try {
            a.sockets.listen(80, 1)
        } catch (e) {
            code = (e as SocketError).code
        }
        expect(code).toBe(EADDRINUSE)
        const acc = allocBytes(1)
        expect(l.acceptNow()).toBe(null)
        const c = b.sockets.connectNow("10.0.0.1", 80)
        const set = new PollSet(2)
        set.add(c, POLLOUT)
        expect(await b.sockets.poll(set, 2000)).toBe(1)
        const s = await l.accept()
        expect(s.remotePort).toBe(c.localPort)
        expect(a.sockets.netstatText().indexOf("ESTABLISHED") > 0).toBe(true)
        set.clear()
        set.add(s, POLLIN)
        expect(await a.sockets.poll(set, 50)).toBe(0)
        const msg = Buffer.from("hello fibers")
        const reader = allocBytes(32)
        const before = allocationCount()
        expect(await c.write(msg, 0, msg.length)).toBe(msg.length)
        expect(await s.read(reader, 0, 32)).toBe(msg.length)
        expect(allocationCount()).toBe(before)
        expect(reader[0]).toBe(0x68) // "h"
        expect(reader[11]).toBe(0x73) // "s"
        s.abort()
        code = 0
        try {
            await c.read(reader, 0, 32)
        } catch (e) {
            code = (e as SocketError).code
        }
        expect(code).toBe(ECONNRESET)
        expect(c.state()).toBe("CLOSED")
        c.closeNow()
        l.close()
        code = 0
        try {
            await b.sockets.connect("10.0.0.1", 81)
        } catch (e) {
            code = (e as SocketError).code
        }
        expect(code).toBe(ECONNREFUSED)
        expect(acc.length).toBe(1)
    })

    test("discard app: worker fibers read to the end", async () => {
        await up()
        const d = new DiscardServer(a.sockets, { workers: 1, bufferSize: 128, backlog: 1 })
        d.start()
        const c = await b.sockets.connect("10.0.0.1", 9)
        const data = allocBytes(1500)
        fill(data, 9)
        expect(await c.write(data, 0, data.length)).toBe(1500)
        c.shutdown()
        expect(await c.read(data, 0, 16)).toBe(0)
        expect(d.bytesDiscarded).toBe(1500)
        d.stop()
        c.closeNow()
        expect(sched.taskFailures()).toBe(0)
    })
})
