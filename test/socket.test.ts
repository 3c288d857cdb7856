// The socket API between two whole stacks on a memory link, in virtual time: the
// blocking and non-blocking form of every call, each error code, poll readiness, options.
import { afterEach, describe, expect, test } from "vitest"
import { FrameFilter } from "../src/socket/memory-link"
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDHUP, PollSet } from "../src/socket/poll"
import { TcpSocket, WOULD_BLOCK } from "../src/socket/socket"
import { TcpConnStats } from "../src/tcp/info"
import { A_ADDR, A_IP, B_ADDR, errnoOf, Pair, pattern, sleep, startPair } from "./helpers/stack-pair"

let pair: Pair = null
afterEach(() => {
    pair?.stop()
    pair = null
})

async function start(over?: any, opts?: any): Promise<Pair> {
    pair = await startPair(over, opts)
    return pair
}

/** A connected pair of sockets: server side (on a) and client side (on b). */
async function connected(p: Pair, port = 80): Promise<{ s: TcpSocket; c: TcpSocket }> {
    const l = p.a.sockets.listeners.find((x) => x.isOpen() && x.port === port) ?? p.a.sockets.listen(port, 4)
    const acc = l.accept()
    const c = await p.b.sockets.connect(A_IP, port)
    const s = await acc
    return { s, c }
}

const TCP_FLAG_OFF = 14 + 20 + 13

/** Drops TCP segments from this end whose flags are exactly `flags` and carry no data. */
class DropBareFlags implements FrameFilter {
    dropped = 0
    constructor(private flags: number) {}
    pass(f: Buffer, len: number): boolean {
        if (len < 54 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 6) return true
        const ipLen = (f[16] << 8) | f[17]
        const payload = ipLen - 20 - (f[46] >> 4) * 4
        if (f[TCP_FLAG_OFF] === this.flags && payload === 0) {
            this.dropped++
            return false
        }
        return true
    }
}

describe("connect / accept / read / write", () => {
    test("blocking forms: a connection with a distinct ephemeral port, data both ways", async () => {
        const p = await start()
        const { s, c } = await connected(p)
        expect(c.state()).toBe("ESTABLISHED")
        expect(s.state()).toBe("ESTABLISHED")
        // The 4-tuples mirror each other; the client got a port from the ephemeral range.
        expect(c.localIp).toBe(B_ADDR)
        expect(c.remoteIp).toBe(A_ADDR)
        expect(c.remotePort).toBe(80)
        expect(c.localPort).toBeGreaterThanOrEqual(49152)
        expect(s.localPort).toBe(80)
        expect(s.remotePort).toBe(c.localPort)
        expect(s.remoteIp).toBe(B_ADDR)

        const out = pattern(5000, 1)
        const writer = c.write(out, 0, out.length)
        const got = Buffer.alloc(5000)
        let n = 0
        while (n < 5000) {
            const r = await s.read(got, n, 5000 - n)
            expect(r).toBeGreaterThan(0)
            n += r
        }
        expect(await writer).toBe(5000)
        expect(got.equals(out)).toBe(true)
        // And back.
        expect(await s.write(Buffer.from("pong"), 0, 4)).toBe(4)
        const b = Buffer.alloc(10)
        expect(await c.read(b, 0, 10)).toBe(4)
        expect(b.subarray(0, 4).toString()).toBe("pong")
        // A second connection to the same port gets another local port.
        const second = await connected(p)
        expect(second.c.localPort).not.toBe(c.localPort)
        expect(second.s.localPort).toBe(80)
    })

    test("non-blocking forms: connectNow, acceptNow, readNow, writeNow and WOULD_BLOCK", async () => {
        const p = await start()
        const l = p.a.sockets.listen(80, 4)
        expect(l.acceptNow()).toBe(null)
        const c = p.b.sockets.connectNow(A_IP, 80)
        expect(c.state()).toBe("SYN-SENT")
        expect(c.pollEvents() & POLLOUT).toBe(0)
        const set = new PollSet(2)
        set.add(c, POLLOUT)
        expect(await p.b.sockets.poll(set, 5000)).toBe(1)
        expect(set.reventsOf(c) & POLLOUT).toBe(POLLOUT)
        expect(c.state()).toBe("ESTABLISHED")
        // The handshake is done on the server too: acceptNow succeeds without waiting.
        let s = l.acceptNow()
        for (let i = 0; s === null && i < 10; i++) {
            await sleep(p, 1)
            s = l.acceptNow()
        }
        expect(s).not.toBe(null)
        const buf = Buffer.alloc(4096)
        expect(s.readNow(buf, 0, buf.length)).toBe(WOULD_BLOCK)
        expect(WOULD_BLOCK).toBe(-11)
        // writeNow fills the send ring (the server does not read) and then would block.
        const data = pattern(4096, 2)
        let queued = 0
        for (let i = 0; i < 100; i++) {
            const n = c.writeNow(data, 0, data.length)
            if (n === WOULD_BLOCK) break
            queued += n
            await sleep(p, 5)
        }
        expect(c.writeNow(data, 0, 10)).toBe(WOULD_BLOCK)
        // Everything in flight or buffered: the server's receive ring (2048) plus our send ring (2048).
        expect(queued).toBe(4096)
        expect(c.sendSpace()).toBe(0)
        expect(c.pollEvents() & POLLOUT).toBe(0)
        expect(s.bytesReadable()).toBe(2048)
        // Reading on the server opens the window; the client's ring drains; POLLOUT returns.
        const n = s.readNow(buf, 0, buf.length)
        expect(n).toBe(2048)
        expect(buf.subarray(0, n).equals(data.subarray(0, n))).toBe(true)
        set.clear()
        set.add(c, POLLOUT)
        expect(await p.b.sockets.poll(set, 10000)).toBe(1)
        expect(c.sendSpace()).toBeGreaterThan(0)
    })

    test("a range outside the buffer is EINVAL for every form; no stale bytes leak, none are lost", async () => {
        const p = await start({ tcpConnections: 1 })
        // A first connection leaves a secret in the slot's send ring.
        let { s, c } = await connected(p)
        await s.write(Buffer.from("TOP-SECRET-PASSWORD-0123456789"), 0, 30)
        const rb = Buffer.alloc(64)
        expect(await c.read(rb, 0, 64)).toBe(30)
        s.abort()
        c.abort()
        await sleep(p, 100)
        ;({ s, c } = await connected(p))
        const hi = Buffer.from("hi")
        expect(await errnoOf(() => s.writeNow(hi, 0, 30))).toBe("EINVAL")
        expect(await errnoOf(() => s.write(hi, 0, 30))).toBe("EINVAL")
        expect(await errnoOf(() => s.writeNow(hi, -1, 1))).toBe("EINVAL")
        expect(await errnoOf(() => s.writeNow(hi, 0, -5))).toBe("EINVAL")
        expect(s.bytesQueued()).toBe(0)
        await s.write(hi, 0, 2)
        expect(await c.read(rb, 0, 64)).toBe(2)
        expect(rb.subarray(0, 2).toString()).toBe("hi")
        // Reading past the end of the buffer consumes nothing.
        await s.write(Buffer.from("abcdef"), 0, 6)
        await sleep(p, 500) // Nagle waits for the (delayed) ACK of "hi"
        const small = Buffer.alloc(4)
        expect(await errnoOf(() => c.readNow(small, 0, 6))).toBe("EINVAL")
        expect(await errnoOf(() => c.read(small, 2, 3))).toBe("EINVAL")
        expect(await errnoOf(() => c.readNow(small, 0, -1))).toBe("EINVAL")
        expect(c.bytesReadable()).toBe(6)
        expect(c.readNow(small, 0, 0)).toBe(0)
        expect(await c.read(rb, 0, 64)).toBe(6)
        expect(rb.subarray(0, 6).toString()).toBe("abcdef")
    })
    test("read() returns 0 at end of stream; write after shutdown is EPIPE; the read side stays open", async () => {
        const p = await start()
        const { s, c } = await connected(p)
        await c.write(Buffer.from("last words"), 0, 10)
        c.shutdown()
        expect(await errnoOf(() => c.writeNow(Buffer.from("x"), 0, 1))).toBe("EPIPE")
        expect(await errnoOf(() => c.write(Buffer.from("x"), 0, 1))).toBe("EPIPE")
        const b = Buffer.alloc(64)
        expect(await s.read(b, 0, 64)).toBe(10)
        expect(await s.read(b, 0, 64)).toBe(0)
        expect(s.readNow(b, 0, 64)).toBe(0)
        expect(s.state()).toBe("CLOSE-WAIT")
        // Half-closed: the server can still send, the client can still read.
        await s.write(Buffer.from("reply"), 0, 5)
        expect(await c.read(b, 0, 64)).toBe(5)
        expect(b.subarray(0, 5).toString()).toBe("reply")
    })
})

describe("errors", () => {
    test("ECONNREFUSED: nobody listens on the port; the slot is free again afterwards", async () => {
        const p = await start({ tcpConnections: 1 })
        expect(await errnoOf(() => p.b.sockets.connect(A_IP, 81))).toBe("ECONNREFUSED")
        // The failed socket was released: the only slot can connect again.
        p.a.sockets.listen(81, 1)
        const c = await p.b.sockets.connect(A_IP, 81)
        expect(c.state()).toBe("ESTABLISHED")
    })

    test("connectNow to a closed port: POLLERR and error() = ECONNREFUSED", async () => {
        const p = await start()
        const c = p.b.sockets.connectNow(A_IP, 81)
        const set = new PollSet(1)
        set.add(c, POLLOUT)
        expect(await p.b.sockets.poll(set, 5000)).toBe(1)
        expect(set.revents(0) & POLLERR).toBe(POLLERR)
        expect(set.revents(0) & POLLHUP).toBe(POLLHUP)
        expect(c.error()).toBe(111)
        expect(c.state()).toBe("CLOSED")
        expect(await errnoOf(() => c.readNow(Buffer.alloc(1), 0, 1))).toBe("ECONNREFUSED")
        c.closeNow()
    })

    test("ECONNRESET: the peer aborts; a blocked read wakes with the error, sticky until close", async () => {
        const p = await start()
        const { s, c } = await connected(p)
        const b = Buffer.alloc(16)
        const reading = errnoOf(() => c.read(b, 0, 16))
        await sleep(p, 10)
        s.abort()
        const t0 = p.sched.nowMs()
        expect(await reading).toBe("ECONNRESET")
        expect(p.sched.nowMs() - t0).toBeLessThan(5) // woken by the RST, not by a timeout
        expect(c.state()).toBe("CLOSED")
        expect(c.pollEvents() & (POLLERR | POLLHUP | POLLIN)).toBe(POLLERR | POLLHUP | POLLIN)
        expect(await errnoOf(() => c.writeNow(b, 0, 1))).toBe("ECONNRESET")
        c.closeNow()
        expect(await errnoOf(() => c.readNow(b, 0, 1))).toBe("EBADF")
    })

    test("ETIMEDOUT: the peer vanishes with data outstanding", async () => {
        const p = await start({ tcpMaxRetries: 4 })
        const { c } = await connected(p)
        p.link.setDown(true)
        await c.write(Buffer.from("into the void"), 0, 13)
        const t0 = p.sched.nowMs()
        expect(await errnoOf(() => c.read(Buffer.alloc(8), 0, 8))).toBe("ETIMEDOUT")
        // The handshake measured a ~0 ms RTT, so RTO = tcpRtoMinMs (200) doubling: the
        // fifth expiry (200+400+800+1600+3200 ms) gives up.
        const took = p.sched.nowMs() - t0
        expect(took).toBeGreaterThanOrEqual(6200)
        expect(took).toBeLessThan(6300)
        expect(c.error()).toBe(110)
    })

    test("ETIMEDOUT: connect to a host that never answers", async () => {
        const p = await start({ tcpSynRetries: 2 })
        p.link.setDown(true)
        const t0 = p.sched.nowMs()
        expect(await errnoOf(() => p.b.sockets.connect(A_IP, 80))).toBe("ETIMEDOUT")
        expect(p.sched.nowMs() - t0).toBeGreaterThan(6000) // SYN at 0, 1 s, 3 s, give up at 7 s
        // connect()'s own timeout.
        expect(await errnoOf(() => p.b.sockets.connect(A_IP, 80, 500))).toBe("ETIMEDOUT")
    })

    test("ETIMEDOUT from keepalive: an idle connection whose peer vanished", async () => {
        const p = await start()
        const { c } = await connected(p)
        c.setKeepalive(true, 10000, 1000, 3)
        const reading = errnoOf(() => c.read(Buffer.alloc(8), 0, 8))
        await sleep(p, 30000)
        // While the peer answers, probes keep the connection up.
        expect(c.state()).toBe("ESTABLISHED")
        p.link.setDown(true)
        const t0 = p.sched.nowMs()
        expect(await reading).toBe("ETIMEDOUT")
        expect(p.sched.nowMs() - t0).toBeLessThan(20000)
    })

    test("EADDRINUSE: one listener per port; EMFILE when every listener slot is taken", async () => {
        const p = await start({ tcpListeners: 2 })
        const l = p.a.sockets.listen(80, 2)
        expect(await errnoOf(() => p.a.sockets.listen(80, 2))).toBe("EADDRINUSE")
        p.a.sockets.listen(81, 2)
        expect(await errnoOf(() => p.a.sockets.listen(82, 2))).toBe("EMFILE")
        l.close()
        expect(p.a.sockets.listen(80, 2).state()).toBe("LISTEN")
        expect(await errnoOf(() => p.a.sockets.listen(0, 2))).toBe("EINVAL")
    })

    test("EMFILE when every connection slot is used, success after a close", async () => {
        const p = await start({ tcpConnections: 3 })
        p.a.sockets.listen(80, 4)
        const cs: TcpSocket[] = []
        for (let i = 0; i < 3; i++) cs.push(await p.b.sockets.connect(A_IP, 80))
        expect(await errnoOf(() => p.b.sockets.connectNow(A_IP, 80))).toBe("EMFILE")
        expect(await errnoOf(() => p.b.sockets.connect(A_IP, 80))).toBe("EMFILE")
        cs[1].abort()
        const again = await p.b.sockets.connect(A_IP, 80)
        expect(again.state()).toBe("ESTABLISHED")
    })

    test("EBADF on a closed socket and a closed listener; a blocked accept wakes with EBADF", async () => {
        const p = await start()
        const { s, c } = await connected(p)
        c.closeNow()
        const b = Buffer.alloc(4)
        expect(await errnoOf(() => c.readNow(b, 0, 4))).toBe("EBADF")
        expect(await errnoOf(() => c.write(b, 0, 4))).toBe("EBADF")
        expect(await errnoOf(() => c.shutdown())).toBe("EBADF")
        expect(await errnoOf(() => c.close())).toBe("EBADF")
        expect(c.state()).toBe("CLOSED")
        expect(c.pollEvents()).toBe(POLLNVAL)
        const l = p.a.sockets.listen(90, 2)
        const waiting = errnoOf(() => l.accept())
        await sleep(p, 100)
        l.close()
        expect(await waiting).toBe("EBADF")
        expect(l.state()).toBe("CLOSED")
        s.closeNow()
    })

    test("EAGAIN: read, write and accept timeouts", async () => {
        const p = await start()
        const { s, c } = await connected(p)
        s.setReadTimeout(250)
        let t0 = p.sched.nowMs()
        expect(await errnoOf(() => s.read(Buffer.alloc(4), 0, 4))).toBe("EAGAIN")
        expect(p.sched.nowMs() - t0).toBeCloseTo(250, 0)
        // Write timeout: the server does not read, so only the two rings' worth fits.
        c.setWriteTimeout(1000)
        const big = pattern(10000, 3)
        expect(await c.write(big, 0, big.length)).toBe(4096) // partial: what fit before the timeout
        expect(await errnoOf(() => c.write(big, 0, 10))).toBe("EAGAIN")
        const l = p.a.sockets.listen(91, 2)
        l.setAcceptTimeout(300)
        t0 = p.sched.nowMs()
        expect(await errnoOf(() => l.accept())).toBe("EAGAIN")
        expect(p.sched.nowMs() - t0).toBeCloseTo(300, 0)
    })

    test("ENOBUFS when more calls block than there are waiters", async () => {
        const p = await start({}, { waiters: 1 })
        const { s } = await connected(p)
        const first = s.read(Buffer.alloc(4), 0, 4)
        expect(await errnoOf(() => s.read(Buffer.alloc(4), 0, 4))).toBe("ENOBUFS")
        expect(p.a.sockets.ctx.waiterShortages).toBe(1)
        s.abort()
        expect(await errnoOf(() => first)).toBe("EBADF")
        expect(p.a.sockets.ctx.freeWaiters()).toBe(1)
    })
})

describe("poll", () => {
    test("readiness over a set of a listener and sockets, with timeouts and early wake-ups", async () => {
        const p = await start()
        const l = p.a.sockets.listen(80, 4)
        const set = new PollSet(4)
        set.add(l, POLLIN)
        // Nothing ready: returns 0 after exactly the timeout; 0 = just look.
        let t0 = p.sched.nowMs()
        expect(await p.a.sockets.poll(set, 700)).toBe(0)
        expect(p.sched.nowMs() - t0).toBeCloseTo(700, 0)
        expect(await p.a.sockets.poll(set, 0)).toBe(0)
        // A client connects: the listener becomes readable long before the timeout.
        const c1 = p.b.sockets.connectNow(A_IP, 80)
        t0 = p.sched.nowMs()
        expect(await p.a.sockets.poll(set, 60000)).toBe(1)
        expect(p.sched.nowMs() - t0).toBeLessThan(10)
        expect(set.reventsOf(l)).toBe(POLLIN)
        const s1 = l.acceptNow()
        const c2 = await p.b.sockets.connect(A_IP, 80)
        const s2 = await l.accept()
        set.add(s1, POLLIN)
        set.add(s2, POLLIN | POLLOUT)
        expect(set.size()).toBe(3)
        // s2 is writable at once; s1 has nothing to read.
        expect(await p.a.sockets.poll(set, 1000)).toBe(1)
        expect(set.reventsOf(s2)).toBe(POLLOUT)
        expect(set.reventsOf(s1)).toBe(0)
        set.add(s2, POLLIN) // change its interest
        // Data on c1's connection wakes the poll (infinite timeout).
        const polling = p.a.sockets.poll(set, -1)
        await sleep(p, 50)
        c1.writeNow(Buffer.from("hi"), 0, 2)
        expect(await polling).toBe(1)
        expect(set.reventsOf(s1)).toBe(POLLIN)
        // The peer's FIN: readable (EOF) and RDHUP; the peer's RST: ERR and HUP.
        c2.shutdown()
        await sleep(p, 50)
        expect(await p.a.sockets.poll(set, 0)).toBe(2)
        expect(set.reventsOf(s2)).toBe(POLLIN) // RDHUP not asked for
        set.add(s2, POLLIN | POLLRDHUP)
        await p.a.sockets.poll(set, 0)
        expect(set.reventsOf(s2)).toBe(POLLIN | POLLRDHUP)
        c1.abort()
        await sleep(p, 50)
        await p.a.sockets.poll(set, 0)
        expect(set.reventsOf(s1) & (POLLERR | POLLHUP)).toBe(POLLERR | POLLHUP)
        // A closed object reports POLLNVAL; remove() takes it out.
        s1.closeNow()
        await p.a.sockets.poll(set, 0)
        expect(set.reventsOf(s1)).toBe(POLLNVAL)
        expect(set.remove(s1)).toBe(true)
        expect(set.size()).toBe(2)
        set.add(s1, POLLIN)
        set.add(c1, POLLIN)
        expect(set.size()).toBe(4)
        expect(await errnoOf(() => set.add(c2, POLLIN))).toBe("ENOBUFS")
    })

    test("two tasks blocked in accept() on one listener both get a connection", async () => {
        const p = await start()
        const l = p.a.sockets.listen(80, 4)
        const a1 = l.accept()
        const a2 = l.accept()
        await sleep(p, 10)
        const c1 = await p.b.sockets.connect(A_IP, 80)
        const c2 = await p.b.sockets.connect(A_IP, 80)
        const [s1, s2] = await Promise.all([a1, a2])
        expect(new Set([s1.remotePort, s2.remotePort])).toEqual(new Set([c1.localPort, c2.localPort]))
    })
})

describe("listen backlog, SYN queue and accept queue", () => {
    test("many clients on one port: distinct 4-tuples, queue occupancy in netstat, overflow dropped", async () => {
        const p = await start({ tcpConnections: 8, tcpBacklogMax: 8, tcpSynQueue: 8 })
        const l = p.a.sockets.listen(7, 2)
        expect(l.backlog).toBe(2)
        // Hold the handshakes half-open: the clients' final ACKs are lost.
        const noAck = new DropBareFlags(0x10)
        p.link.b.filter = noAck
        const cs: TcpSocket[] = []
        for (let i = 0; i < 3; i++) cs.push(p.b.sockets.connectNow(A_IP, 7))
        // (ARP holds one frame per unresolved address: two SYNs come again after 1 s.)
        await sleep(p, 1500)
        // Two requests fill the SYN queue (backlog 2); the third goes to a SYN cookie.
        expect(l.synQueueLength()).toBe(2)
        let rows = p.a.sockets.netstat().slice(0, p.a.sockets.netstatCount())
        expect(rows.filter((r) => r.state === "SYN-RECEIVED").length).toBe(2)
        const lrow = rows.find((r) => r.state === "LISTEN")
        expect(lrow.synQueue).toBe(2)
        expect(lrow.acceptQueue).toBe(0)
        expect(lrow.backlog).toBe(2)
        expect(p.a.sockets.netstatText()).toMatch(/LISTEN\s+syn-q 2\/2 accept-q 0\/2/)
        // Let the ACKs through: the SYN-ACK retransmission completes the queued handshakes.
        p.link.b.filter = null
        for (const c of cs) c.writeNow(Buffer.from("x"), 0, 1)
        await sleep(p, 5000)
        // Two connections fill the accept queue (backlog 2); the third handshake's ACK is
        // ignored while it is full (Linux), so that request stays in the SYN queue.
        expect(l.acceptQueueLength()).toBe(2)
        expect(l.synQueueLength()).toBe(1)
        expect(p.a.tcp.counters.acceptQueueOverflows).toBeGreaterThan(0)
        expect(p.a.sockets.netstatText()).toMatch(/LISTEN\s+syn-q 1\/2 accept-q 2\/2/)
        // The accept queue is full: a fourth client's SYNs are dropped and it waits in SYN-SENT.
        const late = p.b.sockets.connectNow(A_IP, 7)
        await sleep(p, 500)
        expect(late.state()).toBe("SYN-SENT")
        rows = p.a.sockets.netstat().slice(0, p.a.sockets.netstatCount())
        const on7 = rows.filter((r) => r.localPort === 7 && r.state === "ESTABLISHED")
        expect(on7.length).toBe(2)
        expect(on7.every((r) => !r.held)).toBe(true)
        expect(rows.find((r) => r.state === "LISTEN").acceptQueue).toBe(2)
        // Accepting makes room: everyone gets in, each a distinct 4-tuple on local port 7.
        const served: TcpSocket[] = []
        for (let i = 0; i < 4; i++) served.push(await l.accept())
        const ports = served.map((s) => s.remotePort)
        expect(new Set(ports).size).toBe(4)
        expect(served.every((s) => s.localPort === 7 && s.remoteIp === B_ADDR)).toBe(true)
        expect(new Set(ports)).toEqual(new Set([...cs, late].map((c) => c.localPort)))
        rows = p.a.sockets.netstat().slice(0, p.a.sockets.netstatCount())
        expect(rows.filter((r) => r.localPort === 7 && r.state === "ESTABLISHED" && r.held).length).toBe(4)
    })
})

describe("states through every phase", () => {
    test("active and passive close: SYN-SENT, ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT, LAST-ACK, TIME-WAIT, CLOSED", async () => {
        const p = await start({ tcpTimeWaitMs: 4000 })
        const l = p.a.sockets.listen(80, 4)
        expect(l.state()).toBe("LISTEN")
        p.link.b.down = true
        const c = p.b.sockets.connectNow(A_IP, 80)
        expect(c.state()).toBe("SYN-SENT")
        p.link.b.down = false
        const s = await l.accept()
        expect(s.state()).toBe("ESTABLISHED")
        await sleep(p, 10)
        expect(c.state()).toBe("ESTABLISHED")
        // Our FIN is not acknowledged while the link is down.
        p.link.setDown(true)
        c.shutdown()
        expect(c.state()).toBe("FIN-WAIT-1")
        p.link.setDown(false)
        await sleep(p, 2000) // the FIN is retransmitted and acknowledged
        expect(c.state()).toBe("FIN-WAIT-2")
        expect(s.state()).toBe("CLOSE-WAIT")
        p.link.setDown(true)
        s.shutdown()
        expect(s.state()).toBe("LAST-ACK")
        p.link.setDown(false)
        await sleep(p, 2000)
        expect(c.state()).toBe("TIME-WAIT")
        expect(s.state()).toBe("CLOSED")
        const row = p.b.sockets.netstat().find((r) => r.localPort === c.localPort)
        expect(row.state).toBe("TIME-WAIT")
        expect(p.b.sockets.netstatText()).toMatch(/TIME-WAIT/)
        await sleep(p, 5000)
        expect(c.state()).toBe("CLOSED")
        c.closeNow()
        s.closeNow()
        expect(p.a.sockets.netstat()[0].state).toBe("LISTEN")
        expect(p.a.sockets.netstatCount()).toBe(1) // only the listener
        expect(p.b.sockets.netstat().length).toBeGreaterThan(0)
        expect(p.b.sockets.netstatCount()).toBe(0)
    })

    test("simultaneous close: CLOSING", async () => {
        const p = await start()
        const { s, c } = await connected(p)
        p.link.setDown(true)
        c.shutdown()
        s.shutdown()
        expect(c.state()).toBe("FIN-WAIT-1")
        // The FINs cross; the ACKs of the FINs are lost: each side has the other's FIN but
        // not the ACK of its own.
        p.link.a.filter = new DropBareFlags(0x10)
        p.link.b.filter = new DropBareFlags(0x10)
        p.link.setDown(false)
        await sleep(p, 1500)
        expect(c.state()).toBe("CLOSING")
        expect(s.state()).toBe("CLOSING")
        expect(c.pollEvents() & POLLHUP).toBe(POLLHUP)
        p.link.a.filter = null
        p.link.b.filter = null
        await sleep(p, 5000)
        expect(c.state()).toBe("TIME-WAIT")
        expect(s.state()).toBe("TIME-WAIT")
    })
})

describe("options", () => {
    test("send buffer limit within the ring; EINVAL beyond it", async () => {
        const p = await start()
        const { c } = await connected(p)
        expect(c.sendBufferSize()).toBe(2048)
        expect(c.recvBufferSize()).toBe(2048)
        expect(await errnoOf(() => c.setSendBuffer(4096))).toBe("EINVAL")
        expect(await errnoOf(() => c.setSendBuffer(0))).toBe("EINVAL")
        p.link.setDown(true) // nothing is acknowledged: what we queue stays queued
        c.setSendBuffer(300)
        const data = pattern(1000, 4)
        expect(c.writeNow(data, 0, 1000)).toBe(300)
        expect(c.writeNow(data, 0, 1000)).toBe(WOULD_BLOCK)
        expect(c.bytesQueued()).toBe(300)
        expect(c.pollEvents() & POLLOUT).toBe(0)
        c.setSendBuffer(2048)
        expect(c.writeNow(data, 0, 1000)).toBe(1000)
    })

    test("receive buffer limit caps the window we offer; the data still arrives whole", async () => {
        const p = await start()
        const { s, c } = await connected(p)
        expect(await errnoOf(() => s.setRecvBuffer(4096))).toBe("EINVAL")
        expect(await errnoOf(() => s.setRecvBuffer(0))).toBe("EINVAL")
        s.setRecvBuffer(500)
        expect(s.recvBufferSize()).toBe(500)
        const got = Buffer.alloc(1800)
        async function readAll(): Promise<void> {
            let n = 0
            while (n < 1800) n += await s.read(got, n, 1800 - n)
        }
        // A window already offered is never taken back (RFC 9293 3.8.6.2.2): the first
        // batch may still use it. Once it is read, the offered window respects the limit.
        const first = pattern(1800, 9)
        expect(c.writeNow(first, 0, 1800)).toBe(1800)
        await readAll()
        expect(got.equals(first)).toBe(true)
        await sleep(p, 300)
        const windows: number[] = []
        p.link.a.filter = {
            pass(f: Buffer, len: number) {
                if (len >= 54 && f.readUInt16BE(12) === 0x0800 && f[23] === 6) windows.push(f.readUInt16BE(14 + 20 + 14))
                return true
            },
        }
        const second = pattern(1800, 10)
        expect(c.writeNow(second, 0, 1800)).toBe(1800)
        await sleep(p, 2000)
        // Nothing read yet: the peer sent no more than the limit lets in.
        expect(s.bytesReadable()).toBeGreaterThan(0)
        expect(s.bytesReadable()).toBeLessThanOrEqual(500)
        await readAll()
        expect(got.equals(second)).toBe(true)
        expect(windows.length).toBeGreaterThan(0)
        expect(Math.max(...windows)).toBeLessThanOrEqual(500)
    })

    test("linger: close() waits for the acknowledgement, or gives up after the linger time", async () => {
        const p = await start()
        let { s, c } = await connected(p)
        c.setLinger(true, 5000)
        await c.write(pattern(1500, 5), 0, 1500)
        let t0 = p.sched.nowMs()
        expect(await c.close()).toBe(true)
        expect(p.sched.nowMs() - t0).toBeLessThan(1000)
        expect(c.isOpen()).toBe(false)
        const b = Buffer.alloc(2000)
        let got = 0
        for (;;) {
            const n = await s.read(b, 0, 2000)
            if (n === 0) break
            got += n
        }
        expect(got).toBe(1500)
        ;({ s, c } = await connected(p))
        c.setLinger(true, 3000)
        await c.write(pattern(100, 6), 0, 100)
        p.link.setDown(true)
        t0 = p.sched.nowMs()
        expect(await c.close()).toBe(false)
        expect(p.sched.nowMs() - t0).toBeCloseTo(3000, -1)
    })

    test("abort-on-close (linger 0) resets the peer; close with unread data resets too", async () => {
        const p = await start()
        let { s, c } = await connected(p)
        c.setAbortOnClose(true)
        await c.close()
        expect(await errnoOf(() => s.read(Buffer.alloc(4), 0, 4))).toBe("ECONNRESET")
        ;({ s, c } = await connected(p))
        await c.write(Buffer.from("unread"), 0, 6)
        await sleep(p, 10)
        s.closeNow() // 6 bytes never read: RFC 2525 §2.17 says reset
        expect(await errnoOf(() => c.read(Buffer.alloc(4), 0, 4))).toBe("ECONNRESET")
    })

    test("noDelay sends a second small write without waiting for the ACK of the first", async () => {
        const p = await start({ tcpDelayedAckMs: 200 })
        const run = async (noDelay: boolean) => {
            const { s, c } = await connected(p)
            c.setNoDelay(noDelay)
            const t0 = p.sched.nowMs()
            c.writeNow(Buffer.from("a"), 0, 1)
            c.writeNow(Buffer.from("b"), 0, 1)
            const b = Buffer.alloc(4)
            let n = 0
            while (n < 2) n += await s.read(b, n, 4 - n)
            const ms = p.sched.nowMs() - t0
            c.closeNow()
            s.closeNow()
            return ms
        }
        expect(await run(true)).toBeLessThan(5)
        // Nagle: "b" waits for the (delayed) ACK of "a".
        expect(await run(false)).toBeGreaterThanOrEqual(200)
    })

    test("stats of a connection", async () => {
        const p = await start()
        const { s, c } = await connected(p)
        await c.write(pattern(3000, 7), 0, 3000)
        const b = Buffer.alloc(3000)
        let n = 0
        while (n < 3000) n += await s.read(b, n, 3000 - n)
        const st = new TcpConnStats()
        expect(c.stats(st)).toBe(true)
        expect(st.bytesOut).toBe(3000)
        expect(st.segsOut).toBeGreaterThan(1)
    })
})
