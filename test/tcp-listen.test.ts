// Listeners with the Linux backlog model: SYN queue, accept queue, SYN cookies, overflow;
// demultiplexing on the 4-tuple; ephemeral ports; TIME-WAIT reuse and recycling; handles.
import { describe, expect, test } from "vitest"
import { Harness, listening, LOCAL_IP, LOCAL_PORT, REMOTE_IP, REMOTE_ISS, Seg, u32 } from "./helpers/tcp-fixtures"
import { COOKIE_PERIOD_MS, SynCookies } from "../src/tcp/syn-cookies"
import { EADDRINUSE, EBADF, EINVAL, EMFILE } from "../src/tcp/errors"
import { TcpSocketInfo, TCP_ROW_CONNECTION, TCP_ROW_LISTENER } from "../src/tcp/info"

/** The client at port p sends its SYN; returns our SYN-ACK (or undefined if none). */
function syn(h: Harness, p: number, seq = REMOTE_ISS, ip = REMOTE_IP): Seg {
    h.send({ flags: "S", seq, srcPort: p, mss: 1460 }, ip)
    const s = h.take()
    expect(s.length).toBeLessThanOrEqual(1)
    return s[0]
}

function ackOf(h: Harness, p: number, sa: Seg, ip = REMOTE_IP, payload?: string) {
    h.send({ flags: payload ? "PA" : "A", seq: u32(sa.ack), ack: u32(sa.seq + 1), srcPort: p, payload }, ip)
}

function connectFrom(h: Harness, p: number, ip = REMOTE_IP): void {
    const sa = syn(h, p, REMOTE_ISS, ip)
    expect(sa.flags).toBe("SA")
    ackOf(h, p, sa, ip)
}

describe("several connections on one port (4-tuple demux)", () => {
    test("three clients on port 80, data reaches the right connection", () => {
        const { h, lid } = listening()
        connectFrom(h, 1001)
        connectFrom(h, 1002)
        connectFrom(h, 1003, 0x0a000003)
        const ids = [h.layer.accept(lid), h.layer.accept(lid), h.layer.accept(lid)]
        expect(ids.every((i) => i >= 0)).toBe(true)
        const row = new TcpSocketInfo()
        const by: Record<number, number> = {}
        for (const id of ids) {
            h.layer.info(id, row)
            by[row.remotePort] = id
        }
        const c = h.layer.conns.find((x) => x.remotePort === 1002)!
        h.send({ flags: "PA", seq: REMOTE_ISS + 1, ack: c.sndNxt, srcPort: 1002, payload: "to 1002" })
        expect(h.read(by[1002]).toString()).toBe("to 1002")
        expect(h.layer.bytesReadable(by[1001])).toBe(0)
        expect(h.layer.bytesReadable(by[1003])).toBe(0)
    })
})

describe("SYN queue and SYN cookies", () => {
    test("a full SYN queue answers with a SYN cookie; its ACK creates the connection", () => {
        const { h, lid } = listening({}, 2)
        syn(h, 1001)
        syn(h, 1002)
        const sa = syn(h, 1003)
        expect(sa.flags).toBe("SA")
        expect(sa.mss).toBe(1460)
        expect(h.layer.counters.synCookiesSent).toBe(1)
        expect(h.layer.requests.entries.filter((r) => r.listener >= 0).length).toBe(2)
        ackOf(h, 1003, sa, REMOTE_IP, "hi")
        expect(h.layer.counters.synCookiesAccepted).toBe(1)
        const id = h.layer.accept(lid)
        expect(h.stateOf(id)).toBe("ESTABLISHED")
        expect(h.read(id).toString()).toBe("hi")
        // The MSS came back from the cookie (1460 -> the table's 1460, then our half-ring clamp).
        expect(h.layer.conns[h.layer.conns.findIndex((c) => c.remotePort === 1003)].sndMss).toBe(1460)
    })
    test("a forged cookie ACK is reset", () => {
        const { h } = listening({}, 1)
        syn(h, 1001)
        const sa = syn(h, 1002)
        h.send({ flags: "A", seq: u32(sa.ack), ack: u32(sa.seq + 2), srcPort: 1002 })
        expect(h.one()).toMatchObject({ flags: "R", seq: u32(sa.seq + 2) })
        expect(h.layer.counters.synCookiesRejected).toBe(1)
    })
    test("a valid cookie ACK is reset when the SYN queue has not overflowed recently", () => {
        const { h, lid } = listening({}, 4)
        // A blind attacker who somehow has the key (here: the test's) forges a cookie for a
        // SYN that was never sent: no cookie has been sent, so none is accepted.
        const keys = new SynCookies(h.config.tcpSecretSeed, h.config.tcpSecretSeed2)
        const cookie = keys.make(LOCAL_IP, LOCAL_PORT, REMOTE_IP, 1001, 0x1111, 1460, h.now)
        h.send({ flags: "PA", seq: 0x1112, ack: u32(cookie + 1), srcPort: 1001, payload: "injected" })
        expect(h.one().flags).toBe("R")
        expect(h.layer.accept(lid)).toBeLessThan(0)
        expect(h.layer.counters.synCookiesAccepted).toBe(0)
    })
    test("cookie ACKs are taken for two cookie periods after the SYN queue last overflowed", () => {
        const { h, lid } = listening({}, 1)
        syn(h, 1001)
        const sa = syn(h, 1002) // overflow: a cookie
        expect(h.layer.counters.synCookiesSent).toBe(1)
        const keys = new SynCookies(h.config.tcpSecretSeed, h.config.tcpSecretSeed2)
        h.now += 2 * COOKIE_PERIOD_MS
        // Within the window: a valid cookie is taken...
        const c1 = keys.make(LOCAL_IP, LOCAL_PORT, REMOTE_IP, 1003, 0x2222, 1460, h.now)
        h.send({ flags: "A", seq: 0x2223, ack: u32(c1 + 1), srcPort: 1003 })
        expect(h.layer.counters.synCookiesAccepted).toBe(1)
        expect(h.layer.accept(lid)).toBeGreaterThanOrEqual(0)
        // ...one millisecond later the window is closed, even for the real client's ACK.
        h.now += 1
        h.take()
        const c2 = keys.make(LOCAL_IP, LOCAL_PORT, REMOTE_IP, 1004, 0x3333, 1460, h.now)
        h.send({ flags: "A", seq: 0x3334, ack: u32(c2 + 1), srcPort: 1004 })
        expect(h.one().flags).toBe("R")
        ackOf(h, 1002, sa)
        expect(h.one().flags).toBe("R")
        expect(h.layer.counters.synCookiesAccepted).toBe(1)
    })
    test("without cookies a full SYN queue drops the SYN", () => {
        const { h } = listening({ tcpSynCookies: false }, 1)
        syn(h, 1001)
        expect(syn(h, 1002)).toBeUndefined()
        expect(h.layer.counters.listenDrops).toBe(1)
    })
    test("a SYN flood cannot lock out a real client", () => {
        const { h, lid } = listening({}, 4)
        for (let i = 0; i < 200; i++) syn(h, 20000 + i, 1000 * i, 0x0b000000 + i)
        expect(h.layer.counters.synCookiesSent).toBe(196)
        const sa = syn(h, 1001)
        ackOf(h, 1001, sa)
        const id = h.layer.accept(lid)
        expect(id).toBeGreaterThanOrEqual(0)
        expect(h.stateOf(id)).toBe("ESTABLISHED")
    })
})

describe("accept queue overflow", () => {
    test("full accept queue: new SYNs and completing ACKs are dropped; the client's retry succeeds", () => {
        const { h, lid } = listening({}, 1)
        const saA = syn(h, 1001)
        const saB = syn(h, 1002) // SYN queue (1) full: cookie
        ackOf(h, 1001, saA) // accept queue now full
        expect(syn(h, 1003)).toBeUndefined() // SYN dropped
        ackOf(h, 1002, saB) // dropped: no room
        h.none()
        expect(h.layer.counters.acceptQueueOverflows).toBe(1)
        expect(h.layer.accept(lid)).toBeGreaterThanOrEqual(0)
        ackOf(h, 1002, saB, REMOTE_IP, "retry") // the client's data retransmission completes it
        const id = h.layer.accept(lid)
        expect(h.read(id).toString()).toBe("retry")
    })
    test("a half-open request survives an overflowing ACK and completes later", () => {
        const { h, lid } = listening({ tcpSynCookies: false }, 2)
        ackOf(h, 1001, syn(h, 1001))
        const saB = syn(h, 1002)
        const saC = syn(h, 1003)
        ackOf(h, 1002, saB) // accept queue 2/2
        ackOf(h, 1003, saC) // no room: dropped, the request stays
        h.none()
        expect(h.layer.counters.acceptQueueOverflows).toBe(1)
        expect(h.layer.requests.entries.filter((r) => r.listener >= 0).length).toBe(1)
        h.layer.accept(lid)
        ackOf(h, 1003, saC) // the client's next ACK
        h.layer.accept(lid)
        const id = h.layer.accept(lid)
        expect(h.stateOf(id)).toBe("ESTABLISHED")
        expect(h.layer.requests.entries.every((r) => r.listener < 0)).toBe(true)
    })
    test("abortOnOverflow answers the completing ACK with RST", () => {
        const { h } = listening({}, 1, true)
        const saA = syn(h, 1001)
        const saB = syn(h, 1002)
        ackOf(h, 1001, saA)
        ackOf(h, 1002, saB)
        expect(h.one()).toMatchObject({ flags: "R", seq: u32(saB.seq + 1), dstPort: 1002 })
    })
    test("a connection reset before accept() leaves the queue", () => {
        const { h, lid } = listening()
        const sa = syn(h, 1001)
        ackOf(h, 1001, sa)
        h.send({ flags: "R", seq: u32(sa.ack), srcPort: 1001 })
        expect(h.layer.accept(lid)).toBe(-11)
        expect(h.layer.conns.every((c) => !c.inUse)).toBe(true)
    })
    test("closing the listener resets unaccepted connections and forgets half-open ones", () => {
        const { h, lid } = listening()
        const sa = syn(h, 1001)
        ackOf(h, 1001, sa)
        syn(h, 1002)
        h.layer.closeListener(lid, h.now)
        expect(h.one()).toMatchObject({ flags: "R", dstPort: 1001 })
        expect(h.layer.requests.entries.every((r) => r.listener < 0)).toBe(true)
        expect(syn(h, 1003).flags).toBe("RA") // no listener any more
        expect(h.layer.accept(lid)).toBe(-EBADF)
    })
})

describe("listen() errors", () => {
    test("EADDRINUSE, EMFILE, EINVAL", () => {
        const h = new Harness({ tcpListeners: 2 })
        expect(h.layer.listen(80, 1, false)).toBeGreaterThanOrEqual(0)
        expect(h.layer.listen(80, 1, false)).toBe(-EADDRINUSE)
        expect(h.layer.listen(81, 1, false)).toBeGreaterThanOrEqual(0)
        expect(h.layer.listen(82, 1, false)).toBe(-EMFILE)
        expect(h.layer.listen(0, 1, false)).toBe(-EINVAL)
    })
    test("backlog is clamped to 1..tcpBacklogMax", () => {
        const h = new Harness({ tcpBacklogMax: 3 })
        h.layer.listen(80, 100, false)
        h.layer.listen(81, 0, false)
        const row = new TcpSocketInfo()
        const n = h.layer.conns.length
        h.layer.socketTableRow(n, row)
        expect(row).toMatchObject({ kind: TCP_ROW_LISTENER, backlog: 3 })
        h.layer.socketTableRow(n + 1, row)
        expect(row.backlog).toBe(1)
    })
})

describe("active opens: ephemeral ports and the table", () => {
    test("distinct ephemeral ports in range; a full table is EMFILE", () => {
        const h = new Harness({ tcpConnections: 3 })
        const ports = new Set<number>()
        for (let i = 0; i < 3; i++) {
            expect(h.layer.connect(REMOTE_IP, 80, h.now)).toBeGreaterThanOrEqual(0)
            const s = h.one()
            expect(s.srcPort).toBeGreaterThanOrEqual(49152)
            expect(s.srcPort).toBeLessThanOrEqual(65535)
            ports.add(s.srcPort)
        }
        expect(ports.size).toBe(3)
        expect(h.layer.connect(REMOTE_IP, 80, h.now)).toBe(-EMFILE)
    })
    test("an explicit local port already used for that peer is EADDRINUSE", () => {
        const h = new Harness()
        expect(h.layer.connect(REMOTE_IP, 80, h.now, 5000)).toBeGreaterThanOrEqual(0)
        expect(h.layer.connect(REMOTE_IP, 80, h.now, 5000)).toBe(-EADDRINUSE)
        expect(h.layer.connect(REMOTE_IP, 81, h.now, 5000)).toBeGreaterThanOrEqual(0)
        expect(h.layer.connect(0, 81, h.now)).toBe(-EINVAL)
    })
    test("ports avoid listeners and follow a keyed sequence per destination (RFC 6056)", () => {
        const h = new Harness({ tcpEphemeralMin: 50000, tcpEphemeralMax: 50003, tcpConnections: 4 })
        h.layer.listen(50001, 1, false)
        const got: number[] = []
        for (let i = 0; i < 3; i++) {
            h.layer.connect(REMOTE_IP, 80, h.now)
            got.push(h.one().srcPort)
        }
        expect(got).not.toContain(50001)
        expect(new Set(got).size).toBe(3)
    })
    test("ISN and port choice depend on the second seed word too", () => {
        const first = (seed2: number) => {
            const h = new Harness({ tcpSecretSeed: 7, tcpSecretSeed2: seed2 })
            h.layer.connect(REMOTE_IP, 80, h.now)
            const s = h.one()
            return [s.seq, s.srcPort]
        }
        const a = first(1)
        expect(first(1)).toEqual(a)
        const b = first(2)
        expect(b[0]).not.toBe(a[0])
        expect(b[1]).not.toBe(a[1])
    })
})

describe("TIME-WAIT under pressure", () => {
    function toTimeWait(h: Harness, port: number): number {
        const id = h.layer.connect(REMOTE_IP, port, h.now)
        const s = h.one()
        const dp = s.srcPort
        h.send({ flags: "SA", seq: REMOTE_ISS, ack: u32(s.seq + 1), srcPort: port, dstPort: dp })
        h.take()
        h.layer.close(id, h.now)
        const fin = h.one()
        h.send({ flags: "FA", seq: REMOTE_ISS + 1, ack: u32(fin.seq + 1), srcPort: port, dstPort: dp })
        h.take()
        return id
    }
    test("a full table recycles the oldest orphaned TIME-WAIT slot", () => {
        const h = new Harness({ tcpConnections: 2 })
        toTimeWait(h, 7001)
        h.now += 10
        toTimeWait(h, 7002)
        expect(h.layer.conns.every((c) => c.state === 10)).toBe(true)
        expect(h.layer.connect(REMOTE_IP, 7003, h.now)).toBeGreaterThanOrEqual(0)
        expect(h.layer.counters.timeWaitRecycled).toBe(1)
        expect(h.layer.conns.map((c) => c.remotePort).sort()).toEqual([7002, 7003])
    })
    test("a new SYN above the old sequence space reuses a TIME-WAIT 4-tuple (RFC 6191)", () => {
        const { h, lid } = listening()
        const sa = syn(h, 1001)
        ackOf(h, 1001, sa)
        const id = h.layer.accept(lid)
        h.layer.close(id, h.now) // we close first: we end in TIME-WAIT
        const fin = h.one()
        h.send({ flags: "FA", seq: u32(sa.ack), ack: u32(fin.seq + 1), srcPort: 1001 })
        h.take()
        const tw = h.layer.conns.find((c) => c.remotePort === 1001)!
        expect(tw.state).toBe(10)
        // An old-looking SYN is answered from TIME-WAIT (an ACK), not reused.
        h.send({ flags: "S", seq: REMOTE_ISS, srcPort: 1001 })
        expect(h.one().flags).toBe("A")
        // A SYN with a higher sequence number starts a new incarnation.
        h.send({ flags: "S", seq: u32(REMOTE_ISS + 100000), srcPort: 1001 })
        const sa2 = h.one()
        expect(sa2.flags).toBe("SA")
        expect(sa2.ack).toBe(u32(REMOTE_ISS + 100001))
        expect(((sa2.seq - fin.seq) | 0) > 0).toBe(true) // new ISS above the old sequence space
        expect(h.layer.counters.timeWaitReused).toBe(1)
    })
})

describe("handles and listing", () => {
    test("a handle dies with its slot: a reused slot does not answer to the old handle", () => {
        const h = new Harness({ tcpConnections: 1 })
        const a = h.layer.connect(REMOTE_IP, 80, h.now)
        h.layer.abort(a, h.now)
        const b = h.layer.connect(REMOTE_IP, 81, h.now)
        expect(b).not.toBe(a)
        expect(h.layer.state(a)).toBe(-EBADF)
        expect(h.layer.send(a, Buffer.from("x"), 0, 1, h.now)).toBe(-EBADF)
        expect(h.layer.state(b)).toBe(2)
        expect(h.layer.state(-5)).toBe(-EBADF)
        expect(h.layer.state(12345678)).toBe(-EBADF)
    })
    test("socketTableRow lists connections, listeners and half-open requests", () => {
        const { h, lid } = listening()
        const c = h.layer.connect(REMOTE_IP, 9, h.now)
        h.take()
        syn(h, 1001)
        const row = new TcpSocketInfo()
        const kinds: string[] = []
        for (let i = 0; i < h.layer.socketTableSize(); i++) {
            if (h.layer.socketTableRow(i, row)) kinds.push(`${row.kind}:${row.state}:${row.localPort}:${row.remotePort}`)
        }
        const cport = h.layer.conns[c & 0xff].localPort
        expect(kinds).toEqual([`${TCP_ROW_CONNECTION}:2:${cport}:9`, `2:1:${LOCAL_PORT}:0`, `3:3:${LOCAL_PORT}:1001`])
        expect(lid).toBeGreaterThanOrEqual(0)
    })
})
