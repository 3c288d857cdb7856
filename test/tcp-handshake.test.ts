// RFC 9293 §3.10.7.1-3 (CLOSED, LISTEN, SYN-SENT) and SYN-RECEIVED: one segment in,
// the exact segments out, the new state.
import { describe, expect, test } from "vitest"
import {
    established, Harness, listening, LOCAL_IP, LOCAL_PORT, REMOTE_IP, REMOTE_ISS, REMOTE_PORT,
    synReceived, synSent, to, u32,
} from "./helpers/tcp-fixtures"
import { ECONNREFUSED, ETIMEDOUT } from "../src/tcp/errors"
import { TCP_EV_ERROR, TCP_EV_WRITABLE } from "../src/tcp/events"
import { TcpSocketInfo, TCP_ROW_REQUEST } from "../src/tcp/info"

describe("CLOSED: segments for no connection (RFC 9293 §3.10.7.1)", () => {
    test("without ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>", () => {
        const h = new Harness()
        h.send({ flags: "S", seq: 500, payload: "abc" })
        const r = h.one()
        expect(r).toMatchObject({ flags: "RA", seq: 0, ack: 504, srcPort: LOCAL_PORT, dstPort: REMOTE_PORT, dst: REMOTE_IP })
        h.send({ flags: "F", seq: 0xffffffff })
        expect(h.one()).toMatchObject({ flags: "RA", seq: 0, ack: 0 })
        expect(h.layer.counters.rxNoConnection).toBe(2)
    })
    test("with ACK: <SEQ=SEG.ACK><CTL=RST>", () => {
        const h = new Harness()
        h.send({ flags: "A", seq: 500, ack: 777 })
        expect(h.one()).toMatchObject({ flags: "R", seq: 777, ack: 0 })
    })
    test("a RST is never answered", () => {
        const h = new Harness()
        h.send({ flags: "R", seq: 500 })
        h.send({ flags: "RA", seq: 500, ack: 1 })
        h.none()
    })
    test("broadcast destination, bad checksum, port 0 are dropped and counted", () => {
        const h = new Harness()
        const spec = { flags: "S", seq: 1 }
        h.layer.ipv4Input(h.ip, Buffer.alloc(20), 0, 20, REMOTE_IP, 0xffffffff, h.now)
        expect(h.layer.counters.rxDropNotForUs).toBe(1)
        h.send({ ...spec, srcPort: 0 })
        expect(h.layer.counters.rxDropBadPort).toBe(1)
        // checksum computed for another source address
        const b = Buffer.alloc(20)
        b[12] = 0x50
        h.layer.ipv4Input(h.ip, b, 0, 20, REMOTE_IP, LOCAL_IP, h.now)
        expect(h.layer.counters.rxDropChecksum).toBe(1)
        h.layer.ipv4Input(h.ip, b, 0, 10, REMOTE_IP, LOCAL_IP, h.now)
        expect(h.layer.counters.rxDropMalformed).toBe(1)
        h.none()
    })
})

describe("LISTEN (RFC 9293 §3.10.7.2)", () => {
    test("SYN: SYN-ACK with our MSS, a half-open request in the SYN queue", () => {
        const { h, lid } = listening()
        h.send({ flags: "S", seq: REMOTE_ISS, win: 8000, mss: 1200 })
        const sa = h.one()
        expect(sa.flags).toBe("SA")
        expect(sa.ack).toBe(REMOTE_ISS + 1)
        expect(sa.mss).toBe(1460) // mtu 1500, 4096-byte ring
        expect(sa.win).toBe(4096)
        const row = new TcpSocketInfo()
        const nc = h.layer.conns.length, nl = h.layer.listeners.length
        expect(h.layer.socketTableRow(nc, row)).toBe(true)
        expect(row).toMatchObject({ state: 1, localPort: 80, synQueue: 1, acceptQueue: 0, backlog: 4 })
        expect(h.layer.socketTableRow(nc + nl, row)).toBe(true)
        expect(row).toMatchObject({ kind: TCP_ROW_REQUEST, state: 3, remoteIp: REMOTE_IP, remotePort: REMOTE_PORT })
        expect(h.layer.accept(lid)).toBe(-11) // EAGAIN
    })
    test("RST is ignored, an ACK is reset, anything else dropped", () => {
        const { h } = listening()
        h.send({ flags: "R", seq: 1 })
        h.none()
        h.send({ flags: "A", seq: 1, ack: 99 })
        expect(h.one()).toMatchObject({ flags: "R", seq: 99 })
        h.send({ flags: "F", seq: 1 })
        h.send({ flags: "", seq: 1, payload: "x" })
        h.none()
    })
    test("ACK completes the handshake: ESTABLISHED in the accept queue, then accept()", () => {
        const { h, lid } = listening()
        h.send({ flags: "S", seq: REMOTE_ISS })
        const iss = h.one().seq
        h.events = []
        h.send({ flags: "A", seq: REMOTE_ISS + 1, ack: u32(iss + 1), win: 3000 })
        h.none()
        expect(h.events).toEqual([{ handle: lid, events: 16 }])
        expect(h.layer.acceptable(lid)).toBe(true)
        const id = h.layer.accept(lid)
        expect(id).toBeGreaterThanOrEqual(0)
        expect(h.stateOf(id)).toBe("ESTABLISHED")
        expect(h.layer.accept(lid)).toBe(-11)
        // The peer's window and MSS (default 536 without the option) apply.
        expect(h.write(id, Buffer.alloc(2000, 1))).toBe(2000)
        const segs = h.take()
        // Three full segments; Nagle holds the short rest until they are acknowledged.
        expect(segs.map((s) => s.payload.length)).toEqual([536, 536, 536])
        h.send({ flags: "A", seq: REMOTE_ISS + 1, ack: u32(iss + 1 + 1608), win: 3000 })
        expect(h.one().payload.length).toBe(392)
    })
    test("ACK with data and FIN: data readable, CLOSE-WAIT, FIN acknowledged", () => {
        const { h, lid } = listening()
        h.send({ flags: "S", seq: REMOTE_ISS })
        const iss = h.one().seq
        h.send({ flags: "FPA", seq: REMOTE_ISS + 1, ack: u32(iss + 1), payload: "GET /" })
        expect(h.one()).toMatchObject({ flags: "A", seq: u32(iss + 1), ack: REMOTE_ISS + 7 })
        const id = h.layer.accept(lid)
        expect(h.stateOf(id)).toBe("CLOSE-WAIT")
        expect(h.read(id).toString()).toBe("GET /")
        expect(h.layer.recv(id, Buffer.alloc(4), 0, 4, h.now)).toBe(-1)
    })
    test("half-open request: retransmitted SYN repeats the SYN-ACK, bad ACK is reset", () => {
        const { h } = listening()
        h.send({ flags: "S", seq: REMOTE_ISS })
        const sa = h.one()
        h.send({ flags: "S", seq: REMOTE_ISS })
        expect(h.one()).toMatchObject({ flags: "SA", seq: sa.seq, ack: REMOTE_ISS + 1 })
        h.send({ flags: "A", seq: REMOTE_ISS + 1, ack: u32(sa.seq + 5) })
        expect(h.one()).toMatchObject({ flags: "R", seq: u32(sa.seq + 5) })
    })
    test("half-open request: RST at RCV.NXT removes it, elsewhere ignored (RFC 5961)", () => {
        const { h } = listening()
        h.send({ flags: "S", seq: REMOTE_ISS })
        const sa = h.one()
        h.send({ flags: "R", seq: REMOTE_ISS + 100 })
        expect(h.layer.requests.entries.filter((r) => r.listener >= 0).length).toBe(1)
        h.send({ flags: "R", seq: REMOTE_ISS + 1 })
        expect(h.layer.requests.entries.filter((r) => r.listener >= 0).length).toBe(0)
        h.send({ flags: "A", seq: REMOTE_ISS + 1, ack: u32(sa.seq + 1) })
        expect(h.one().flags).toBe("R") // nothing left: the ACK meets LISTEN (and a bad cookie)
    })
    test("SYN-ACK is retransmitted with back-off, then the request expires", () => {
        const { h } = listening({ tcpSynAckRetries: 3 })
        h.send({ flags: "S", seq: REMOTE_ISS })
        const sa = h.one()
        const times: number[] = []
        const start = h.now
        for (let t = 0; t < 20000; t += 50) {
            h.advance(50)
            for (const s of h.take()) {
                expect(s).toMatchObject({ flags: "SA", seq: sa.seq })
                times.push(h.now - start)
            }
        }
        expect(times).toEqual([1000, 3000, 7000])
        expect(h.layer.counters.synRequestsExpired).toBe(1)
        expect(h.layer.requests.entries.every((r) => r.listener < 0)).toBe(true)
    })
    test("after an address change (DHCP) a half-open request is dropped, not answered from the old address", () => {
        const { h, lid } = listening()
        h.send({ flags: "S", seq: REMOTE_ISS })
        h.one()
        h.ip.ip = LOCAL_IP + 1 // the interface took another address
        h.layer.addressChanged()
        h.advance(1000) // the first SYN-ACK retransmission would be due
        expect(h.take()).toEqual([])
        expect(h.layer.counters.synRequestsExpired).toBe(1)
        expect(h.layer.requests.entries.every((r) => r.listener < 0)).toBe(true)
        expect(h.layer.listeners[lid].synCount).toBe(0)
    })
})

describe("SYN-SENT (RFC 9293 §3.10.7.3)", () => {
    test("connect sends SYN with MSS and window from an ephemeral port", () => {
        const h = new Harness()
        const id = h.layer.connect(REMOTE_IP, REMOTE_PORT, h.now)
        const s = h.one()
        expect(s.flags).toBe("S")
        expect(s.mss).toBe(1460)
        expect(s.win).toBe(4096)
        expect(s.ack).toBe(0)
        expect(s.srcPort).toBeGreaterThanOrEqual(49152)
        expect(h.stateOf(id)).toBe("SYN-SENT")
        expect(h.layer.writable(id)).toBe(false)
    })
    test("acceptable SYN-ACK: ESTABLISHED, ACK, writable event", () => {
        const f = synSent()
        f.h.events = []
        f.h.send(to(f, { flags: "SA", seq: REMOTE_ISS, ack: f.snd, win: 1000 }))
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: REMOTE_ISS + 1 })
        expect(f.h.stateOf(f.id)).toBe("ESTABLISHED")
        expect(f.h.events).toEqual([{ handle: f.id, events: TCP_EV_WRITABLE }])
        expect(f.h.layer.writable(f.id)).toBe(true)
    })
    test("SYN-ACK acknowledging the wrong number: RST <SEQ=SEG.ACK>, still SYN-SENT", () => {
        const f = synSent()
        f.h.send(to(f, { flags: "SA", seq: REMOTE_ISS, ack: f.iss }))
        expect(f.h.one()).toMatchObject({ flags: "R", seq: f.iss })
        f.h.send(to(f, { flags: "SA", seq: REMOTE_ISS, ack: u32(f.snd + 1) }))
        expect(f.h.one()).toMatchObject({ flags: "R", seq: u32(f.snd + 1) })
        f.h.send(to(f, { flags: "RA", seq: REMOTE_ISS, ack: u32(f.snd + 1) })) // RST with bad ACK: dropped
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("SYN-SENT")
    })
    test("RST with acceptable ACK: connection refused", () => {
        const f = synSent()
        f.h.send(to(f, { flags: "R", seq: 0 })) // no ACK: ignored
        expect(f.h.stateOf(f.id)).toBe("SYN-SENT")
        f.h.events = []
        f.h.send(to(f, { flags: "RA", seq: 0, ack: f.snd }))
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("CLOSED")
        expect(f.h.layer.error(f.id)).toBe(ECONNREFUSED)
        expect(f.h.events[0].events & TCP_EV_ERROR).toBeTruthy()
        expect(f.h.layer.recv(f.id, Buffer.alloc(4), 0, 4, f.h.now)).toBe(-ECONNREFUSED)
        expect(f.h.write(f.id, "x")).toBe(-ECONNREFUSED)
    })
    test("ACK without SYN is dropped", () => {
        const f = synSent()
        f.h.send(to(f, { flags: "A", seq: REMOTE_ISS, ack: f.snd }))
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("SYN-SENT")
    })
    test("SYN-ACK carrying data and FIN: data queued, CLOSE-WAIT", () => {
        const f = synSent()
        f.h.send(to(f, { flags: "SFA", seq: REMOTE_ISS, ack: f.snd, payload: "hi" }))
        expect(f.h.one()).toMatchObject({ flags: "A", ack: REMOTE_ISS + 4 })
        expect(f.h.stateOf(f.id)).toBe("CLOSE-WAIT")
        expect(f.h.read(f.id).toString()).toBe("hi")
    })
    test("SYN retransmission with back-off, then ETIMEDOUT", () => {
        const f = synSent({ tcpSynRetries: 3 })
        const times: number[] = []
        const start = f.h.now
        for (let t = 0; t < 30000; t += 100) {
            f.h.advance(100)
            for (const s of f.h.take()) {
                expect(s).toMatchObject({ flags: "S", seq: f.iss })
                times.push(f.h.now - start)
            }
        }
        expect(times).toEqual([1000, 3000, 7000])
        expect(f.h.stateOf(f.id)).toBe("CLOSED")
        expect(f.h.layer.error(f.id)).toBe(ETIMEDOUT)
    })
    test("after a retransmitted SYN the data RTO starts at 3 s (RFC 6298 §5.7)", () => {
        const f = synSent()
        f.h.advance(1000)
        expect(f.h.one().flags).toBe("S")
        f.h.send(to(f, { flags: "SA", seq: REMOTE_ISS, ack: f.snd }))
        f.h.take()
        f.h.write(f.id, "x")
        f.h.take()
        f.h.advance(2999)
        f.h.none()
        f.h.advance(1)
        expect(f.h.one().payload.toString()).toBe("x")
    })
    test("the peer's MSS option is honoured; without it 536 (RFC 9293 §3.7.1)", () => {
        const f = established(undefined, 60000, 700)
        f.h.write(f.id, Buffer.alloc(1800, 7))
        expect(f.h.take().map((s) => s.payload.length)).toEqual([700, 700]) // Nagle holds 400
        const g = synSent()
        g.h.send(to(g, { flags: "SA", seq: REMOTE_ISS, ack: g.snd, win: 60000, mss: 0 }))
        g.h.take()
        g.h.write(g.id, Buffer.alloc(600, 7))
        expect(g.h.take().map((s) => s.payload.length)).toEqual([536])
    })
    test("our send MSS is at most half the send ring (two segments in flight)", () => {
        const f = established({ tcpSendBuffer: 2048 }, 60000, 1460)
        f.h.write(f.id, Buffer.alloc(2048, 7))
        expect(f.h.take().map((s) => s.payload.length)).toEqual([1024, 1024])
    })
})

describe("simultaneous open (RFC 9293 §3.5 figure 8)", () => {
    test("SYN in SYN-SENT: SYN-RECEIVED and SYN-ACK; the peer's SYN-ACK is answered with ACK; ACK completes", () => {
        const f = synReceived()
        expect(f.h.stateOf(f.id)).toBe("SYN-RECEIVED")
        // The peer's SYN-ACK is below RCV.NXT (its SYN was already counted): an ACK answers it.
        f.h.send(to(f, { flags: "SA", seq: REMOTE_ISS, ack: f.snd }))
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: REMOTE_ISS + 1 })
        expect(f.h.stateOf(f.id)).toBe("SYN-RECEIVED")
        f.h.send(to(f, { flags: "A", seq: REMOTE_ISS + 1, ack: f.snd }))
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("ESTABLISHED")
    })
    test("SYN-RECEIVED: bad ACK is reset, RST refuses, SYN-ACK is retransmitted", () => {
        const f = synReceived()
        f.h.send(to(f, { flags: "A", seq: REMOTE_ISS + 1, ack: u32(f.snd + 10) }))
        expect(f.h.one()).toMatchObject({ flags: "R", seq: u32(f.snd + 10) })
        f.h.advance(1000)
        expect(f.h.one()).toMatchObject({ flags: "SA", seq: f.iss, ack: REMOTE_ISS + 1 })
        f.h.send(to(f, { flags: "R", seq: REMOTE_ISS + 1 }))
        expect(f.h.stateOf(f.id)).toBe("CLOSED")
        expect(f.h.layer.error(f.id)).toBe(ECONNREFUSED)
    })
    test("two layers opening to each other at once both reach ESTABLISHED", async () => {
        const { Peer, Wire } = await import("./helpers/tcp-fixtures")
        const a = new Peer(0x0a000001)
        const b = new Peer(0x0a000002)
        const w = new Wire(a, b, { delayMs: 5 })
        const ca = a.layer.connect(0x0a000002, 6000, w.now, 5000)
        const cb = b.layer.connect(0x0a000001, 5000, w.now, 6000)
        for (let i = 0; i < 50; i++) w.step(w.now + 100)
        expect(a.layer.state(ca)).toBe(4)
        expect(b.layer.state(cb)).toBe(4)
        a.layer.send(ca, Buffer.from("ping"), 0, 4, w.now)
        for (let i = 0; i < 50; i++) w.step(w.now + 1000)
        const buf = Buffer.alloc(10)
        expect(b.layer.recv(cb, buf, 0, 10, w.now)).toBe(4)
    })
})
