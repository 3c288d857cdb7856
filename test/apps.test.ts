// The echo (port 7) and discard (port 9) apps, served to clients on a second stack.
import { afterEach, describe, expect, test } from "vitest"
import { createHash } from "node:crypto"
import { EchoServer } from "../src/apps/echo"
import { DiscardServer } from "../src/apps/discard"
import { TcpSocket } from "../src/socket/socket"
import { allocationCount } from "../src/util/bytes"
import { A_IP, errnoOf, Pair, pattern, sleep, startPair } from "./helpers/stack-pair"

let pair: Pair = null
afterEach(() => {
    pair?.stop()
    pair = null
})

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex")

/**
 * A client: writes `data` in chunks while another task reads everything echoed back;
 * shuts down its side after the last byte. Returns the hash and count of what came back.
 */
async function echoClient(c: TcpSocket, data: Buffer, chunk: number): Promise<{ hash: string; got: number }> {
    const writer = (async () => {
        for (let off = 0; off < data.length; off += chunk) await c.write(data, off, Math.min(chunk, data.length - off))
        c.shutdown()
    })()
    const h = createHash("sha256")
    const buf = Buffer.alloc(1500)
    let got = 0
    for (;;) {
        const n = await c.read(buf, 0, buf.length)
        if (n === 0) break
        h.update(buf.subarray(0, n))
        got += n
    }
    await writer
    return { hash: h.digest("hex"), got }
}

describe("echo", () => {
    test("1 MiB echoed byte-exact, then the client's half-close ends the session", async () => {
        const p = (pair = await startPair({ tcpSendBuffer: 8192, tcpRecvBuffer: 8192 }))
        const echo = new EchoServer(p.a.sockets, { bufferSize: 1024 })
        echo.start()
        const c = await p.b.sockets.connect(A_IP, 7)
        const data = pattern(1 << 20, 21)
        const allocBefore = allocationCount()
        const res = await echoClient(c, data, 3000)
        expect(allocationCount() - allocBefore).toBe(0)
        expect(res.got).toBe(1 << 20)
        expect(res.hash).toBe(sha(data))
        expect(echo.bytesEchoed).toBe(1 << 20)
        // The server closed after echoing the rest: our side passes through TIME-WAIT.
        expect(["TIME-WAIT", "FIN-WAIT-2", "CLOSED"]).toContain(c.state())
        await sleep(p, 100)
        expect(c.state()).toBe("TIME-WAIT")
        expect(echo.finished).toBe(1)
        expect(echo.clientCount()).toBe(0)
    })

    test("half-close: everything sent before shutdown() comes back, then end of stream", async () => {
        const p = (pair = await startPair())
        const echo = new EchoServer(p.a.sockets)
        echo.start()
        const c = await p.b.sockets.connect(A_IP, 7)
        // Send all, shut down at once, only then start reading (the rings hold it all).
        const data = pattern(3000, 22)
        expect(await c.write(data, 0, data.length)).toBe(3000)
        c.shutdown()
        expect(c.state()).toBe("FIN-WAIT-1")
        const back = Buffer.alloc(4000)
        let n = 0
        for (;;) {
            const r = await c.read(back, n, back.length - n)
            if (r === 0) break
            n += r
        }
        expect(n).toBe(3000)
        expect(back.subarray(0, n).equals(data)).toBe(true)
    })

    test("many clients at once with bounded memory; extra clients wait in the backlog", async () => {
        const p = (pair = await startPair({ tcpConnections: 6, tcpBacklogMax: 8 }))
        const echo = new EchoServer(p.a.sockets, { maxClients: 2, backlog: 4, bufferSize: 256 })
        echo.start()
        const clients: TcpSocket[] = []
        for (let i = 0; i < 4; i++) clients.push(await p.b.sockets.connect(A_IP, 7))
        await sleep(p, 50)
        // Two are served; the other two are established but wait in the accept queue.
        expect(echo.clientCount()).toBe(2)
        expect(p.a.sockets.listeners[0].acceptQueueLength()).toBe(2)
        const datas = clients.map((_, i) => pattern(20000 + 1000 * i, 30 + i))
        const results = await Promise.all(clients.map((c, i) => echoClient(c, datas[i], 700)))
        results.forEach((r, i) => {
            expect(r.got).toBe(datas[i].length)
            expect(r.hash).toBe(sha(datas[i]))
        })
        expect(echo.accepted).toBe(4)
        expect(echo.finished).toBe(4)
    })

    test("a client that resets is dropped; stop() resets the rest and frees the port", async () => {
        const p = (pair = await startPair())
        const echo = new EchoServer(p.a.sockets)
        echo.start()
        const c1 = await p.b.sockets.connect(A_IP, 7)
        const c2 = await p.b.sockets.connect(A_IP, 7)
        await c1.write(Buffer.from("ping"), 0, 4)
        const b = Buffer.alloc(8)
        expect(await c1.read(b, 0, 8)).toBe(4)
        c1.abort()
        await sleep(p, 50)
        expect(echo.failed).toBe(1)
        expect(echo.clientCount()).toBe(1)
        expect(await errnoOf(() => p.a.sockets.listen(7, 1))).toBe("EADDRINUSE")
        echo.stop()
        expect(await errnoOf(() => c2.read(b, 0, 8))).toBe("ECONNRESET")
        p.a.sockets.listen(7, 1).close()
    })
})

describe("discard", () => {
    test("reads and drops everything from several clients; more clients than workers queue", async () => {
        const p = (pair = await startPair({ tcpConnections: 5 }))
        const discard = new DiscardServer(p.a.sockets, { workers: 2 })
        discard.start()
        const sizes = [100000, 50000, 70000]
        const clients: TcpSocket[] = []
        for (let i = 0; i < sizes.length; i++) clients.push(await p.b.sockets.connect(A_IP, 9))
        await sleep(p, 10)
        expect(discard.clientCount()).toBe(2)
        const runs = clients.map(async (c, i) => {
            const d = pattern(sizes[i], 40 + i)
            expect(await c.write(d, 0, d.length)).toBe(d.length)
            c.shutdown()
            // Nothing ever comes back; the server closes at our end of stream.
            expect(await c.read(Buffer.alloc(16), 0, 16)).toBe(0)
        })
        await Promise.all(runs)
        expect(discard.bytesDiscarded).toBe(220000)
        expect(discard.accepted).toBe(3)
        expect(discard.finished).toBe(3)
        discard.stop()
        await sleep(p, 10)
        expect(discard.clientCount()).toBe(0)
    })
})
