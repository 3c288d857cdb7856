// Closing (RFC 9293 §3.6, §3.10.4, §3.10.7.4): FIN-WAIT-1/2, CLOSING, TIME-WAIT,
// CLOSE-WAIT, LAST-ACK, half-close, simultaneous close, abort and resets.
import { describe, expect, test } from "vitest"
import {
    closeWait, closing, established, finWait1, finWait2, Fixture, lastAck, Peer, REMOTE_IP, REMOTE_ISS,
    TcpState, timeWait, to, u32, Wire,
} from "./helpers/tcp-fixtures"
import { ECONNRESET, EPIPE } from "../src/tcp/errors"
import { TCP_EV_CLOSED } from "../src/tcp/events"

function seg(f: Fixture, flags: string, extra: any = {}) {
    f.h.send(to(f, { flags, seq: f.rcv, ack: f.snd, ...extra }))
}

describe("active close", () => {
    test("shutdown in ESTABLISHED: FIN after the queued data, FIN-WAIT-1", () => {
        const f = established()
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        f.h.write(f.id, "bye")
        expect(f.h.one().flags).toBe("PA")
        f.h.layer.shutdown(f.id, f.h.now)
        expect(f.h.one()).toMatchObject({ flags: "FA", seq: u32(f.snd + 3), ack: f.rcv })
        expect(f.h.stateOf(f.id)).toBe("FIN-WAIT-1")
        expect(f.h.write(f.id, "more")).toBe(-EPIPE)
    })
    test("queued data and FIN share the last segment", () => {
        const f = established()
        f.h.write(f.id, "abc")
        f.h.take()
        f.h.write(f.id, "def") // held by Nagle: "abc" is unacknowledged
        f.h.none()
        f.h.layer.shutdown(f.id, f.h.now)
        expect(f.h.one()).toMatchObject({ flags: "FPA", seq: u32(f.snd + 3), payload: Buffer.from("def") })
    })
    test("FIN-WAIT-1 + ACK of FIN: FIN-WAIT-2; still receives data (half-close)", () => {
        const f = finWait1()
        seg(f, "A")
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("FIN-WAIT-2")
        seg(f, "PA", { payload: "still talking" })
        expect(f.h.read(f.id).toString()).toBe("still talking")
    })
    test("FIN-WAIT-1 + FIN acknowledging our FIN: TIME-WAIT", () => {
        const f = finWait1()
        seg(f, "FA")
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: u32(f.rcv + 1) })
        expect(f.h.stateOf(f.id)).toBe("TIME-WAIT")
    })
    test("FIN-WAIT-2 + FIN: TIME-WAIT, ACK", () => {
        const f = finWait2()
        seg(f, "FA")
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: u32(f.rcv + 1) })
        expect(f.h.stateOf(f.id)).toBe("TIME-WAIT")
        expect(f.h.layer.recv(f.id, Buffer.alloc(1), 0, 1, f.h.now)).toBe(-1)
    })
    test("FIN-WAIT-1: the FIN is retransmitted until acknowledged", () => {
        const f = finWait1()
        f.h.advance(200) // RTO after a 0 ms handshake sample is the 200 ms minimum
        expect(f.h.one()).toMatchObject({ flags: "FA", seq: u32(f.snd - 1) })
        f.h.advance(400)
        expect(f.h.one()).toMatchObject({ flags: "FA", seq: u32(f.snd - 1) })
    })
    test("an orphaned FIN-WAIT-2 gives up after tcpFinWait2Ms", () => {
        const f = finWait2({ tcpFinWait2Ms: 5000 })
        f.h.layer.close(f.id, f.h.now)
        f.h.advance(4999)
        expect(f.h.layer.conns.filter((c) => c.inUse).length).toBe(1)
        f.h.advance(1)
        expect(f.h.layer.conns.filter((c) => c.inUse).length).toBe(0)
    })
})

describe("simultaneous close", () => {
    test("FIN-WAIT-1 + FIN without ACK of ours: CLOSING; then the ACK: TIME-WAIT", () => {
        const f = closing()
        expect(f.h.stateOf(f.id)).toBe("CLOSING")
        seg(f, "A")
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("TIME-WAIT")
    })
    test("CLOSING: our FIN is retransmitted", () => {
        const f = closing()
        f.h.advance(200)
        expect(f.h.one()).toMatchObject({ flags: "FA", seq: u32(f.snd - 1), ack: f.rcv })
    })
    test("two layers closing at once both pass CLOSING to TIME-WAIT and free their slots", () => {
        const a = new Peer(0x0a000001)
        const b = new Peer(0x0a000002)
        const w = new Wire(a, b, { delayMs: 10 })
        const ca = a.layer.connect(0x0a000002, 6000, w.now, 5000)
        const lb = b.layer.listen(6000, 1, false)
        for (let i = 0; i < 20; i++) w.step(w.now + 50)
        const cb = b.layer.accept(lb)
        expect(a.layer.state(ca)).toBe(4)
        a.layer.shutdown(ca, w.now)
        b.layer.shutdown(cb, w.now)
        w.collect()
        for (let i = 0; i < 4; i++) w.step(w.now + 11)
        expect(a.layer.state(ca)).toBe(10) // TIME-WAIT
        expect(b.layer.state(cb)).toBe(10)
        a.layer.close(ca, w.now)
        b.layer.close(cb, w.now)
        for (let i = 0; i < 100 && w.step(w.now + 120000); i++);
        expect(a.layer.conns.some((c) => c.inUse)).toBe(false)
        expect(b.layer.conns.some((c) => c.inUse)).toBe(false)
    })
})

describe("passive close", () => {
    test("FIN in ESTABLISHED: CLOSE-WAIT, immediate ACK, EOF after the data; we can still send", () => {
        const f = established()
        seg(f, "FPA", { payload: "last" })
        expect(f.h.one()).toMatchObject({ flags: "A", ack: u32(f.rcv + 5) })
        expect(f.h.stateOf(f.id)).toBe("CLOSE-WAIT")
        expect(f.h.read(f.id).toString()).toBe("last")
        expect(f.h.layer.recv(f.id, Buffer.alloc(4), 0, 4, f.h.now)).toBe(-1)
        expect(f.h.layer.readable(f.id)).toBe(true)
        expect(f.h.write(f.id, "reply")).toBe(5)
        expect(f.h.one().payload.toString()).toBe("reply")
    })
    test("CLOSE-WAIT + shutdown: LAST-ACK; its ACK: CLOSED", () => {
        const f = lastAck()
        expect(f.h.stateOf(f.id)).toBe("LAST-ACK")
        f.h.events = []
        seg(f, "A")
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("CLOSED")
        expect(f.h.layer.error(f.id)).toBe(0)
        expect(f.h.events[0].events & TCP_EV_CLOSED).toBeTruthy()
    })
    test("LAST-ACK: the FIN is retransmitted", () => {
        const f = lastAck()
        f.h.advance(200)
        expect(f.h.one()).toMatchObject({ flags: "FA", seq: u32(f.snd - 1) })
    })
    test("close() in CLOSE-WAIT: FIN, and the slot is freed when acknowledged", () => {
        const f = closeWait()
        f.h.read(f.id)
        f.h.layer.close(f.id, f.h.now)
        expect(f.h.one().flags).toBe("FA")
        expect(f.h.layer.state(f.id)).toBeLessThan(0) // handle released
        f.h.send(to(f, { flags: "A", seq: f.rcv, ack: u32(f.snd + 1) }))
        expect(f.h.layer.conns.every((c) => !c.inUse)).toBe(true)
    })
    test("a duplicate FIN in CLOSE-WAIT is acknowledged again", () => {
        const f = closeWait()
        f.h.send(to(f, { flags: "FA", seq: u32(f.rcv - 1), ack: f.snd }))
        expect(f.h.one()).toMatchObject({ flags: "A", ack: f.rcv })
        expect(f.h.stateOf(f.id)).toBe("CLOSE-WAIT")
    })
})

describe("TIME-WAIT", () => {
    test("a retransmitted FIN is acknowledged and restarts the 2*MSL timer", () => {
        const f = timeWait({ tcpTimeWaitMs: 10000 })
        f.h.layer.close(f.id, f.h.now)
        f.h.advance(6000)
        f.h.send(to(f, { flags: "FA", seq: u32(f.rcv - 1), ack: f.snd }))
        expect(f.h.one()).toMatchObject({ flags: "A", ack: f.rcv })
        f.h.advance(6000)
        expect(f.h.layer.conns.filter((c) => c.inUse).length).toBe(1)
        f.h.advance(4000)
        expect(f.h.layer.conns.filter((c) => c.inUse).length).toBe(0)
    })
    test("the timer ends TIME-WAIT; a held handle sees CLOSED without error", () => {
        const f = timeWait({ tcpTimeWaitMs: 1000 })
        f.h.advance(1000)
        expect(f.h.stateOf(f.id)).toBe("CLOSED")
        expect(f.h.layer.error(f.id)).toBe(0)
    })
    test("RST in TIME-WAIT, CLOSING, LAST-ACK: CLOSED without an error", () => {
        for (const fx of [timeWait, closing, lastAck]) {
            const f = fx()
            seg(f, "R")
            expect(f.h.stateOf(f.id)).toBe("CLOSED")
            expect(f.h.layer.error(f.id)).toBe(0)
        }
    })
    test("RST in FIN-WAIT-1/2 and CLOSE-WAIT: ECONNRESET", () => {
        for (const fx of [finWait1, finWait2, closeWait]) {
            const f = fx()
            seg(f, "R")
            expect(f.h.layer.error(f.id)).toBe(ECONNRESET)
        }
    })
})

describe("abort and resetting close", () => {
    test("abort: <SEQ=SND.NXT><CTL=RST>, handle released", () => {
        const f = established()
        f.h.write(f.id, "x")
        f.h.take()
        f.h.layer.abort(f.id, f.h.now)
        expect(f.h.one()).toMatchObject({ flags: "R", seq: u32(f.snd + 1) })
        expect(f.h.layer.state(f.id)).toBeLessThan(0)
        expect(f.h.layer.conns.every((c) => !c.inUse)).toBe(true)
    })
    test("close() with unread data resets (RFC 2525 §2.17)", () => {
        const f = established()
        seg(f, "PA", { payload: "unread" })
        f.h.layer.close(f.id, f.h.now)
        expect(f.h.one()).toMatchObject({ flags: "R", seq: f.snd })
    })
    test("abort-on-close (linger 0) resets", () => {
        const f = established()
        f.h.layer.setAbortOnClose(f.id, true)
        f.h.layer.close(f.id, f.h.now)
        expect(f.h.one().flags).toBe("R")
    })
    test("close() in SYN-SENT just forgets the connection", () => {
        const f = established()
        const g = f.h.layer.connect(0x0a000009, 80, f.h.now)
        f.h.take()
        f.h.layer.close(g, f.h.now)
        f.h.none()
        expect(f.h.layer.conns.filter((c) => c.inUse).length).toBe(1)
    })
    test("shutdown before the handshake completes sends the FIN once established", () => {
        const h = established().h
        const id = h.layer.connect(REMOTE_IP, 7, h.now)
        const syn = h.one()
        h.layer.shutdown(id, h.now)
        h.none()
        h.send({ flags: "SA", seq: REMOTE_ISS, ack: u32(syn.seq + 1), dstPort: syn.srcPort, srcPort: 7 })
        const segs = h.take()
        expect(segs.map((s) => s.flags)).toEqual(["FA"])
        expect(h.stateOf(id)).toBe("FIN-WAIT-1")
    })
})

describe("FIN and zero windows (RFC 9293 §3.8.6.1)", () => {
    test("our FIN waits behind the peer's zero window and is probed for while the peer answers", () => {
        const f = established()
        seg(f, "A", { win: 0 }) // the peer's buffer is full
        f.h.take()
        f.h.layer.shutdown(f.id, f.h.now)
        f.h.none() // no FIN into the zero window
        expect(f.h.stateOf(f.id)).toBe("FIN-WAIT-1")
        let probes = 0
        for (let i = 0; i < 1800; i++) { // half an hour; the peer answers every probe with window 0
            f.h.advance(1000)
            for (const s of f.h.take()) {
                expect(s.flags).toBe("A") // probes only, never the FIN
                probes++
                seg(f, "A", { win: 0 })
            }
        }
        expect(probes).toBeGreaterThan(10)
        expect(f.h.layer.error(f.id)).toBe(0)
        expect(f.h.stateOf(f.id)).toBe("FIN-WAIT-1")
        // The window opens: the FIN goes at once, and its ACK completes the close.
        seg(f, "A", { win: 4096 })
        expect(f.h.one()).toMatchObject({ flags: "FA", seq: f.snd })
        f.h.send(to(f, { flags: "A", seq: f.rcv, ack: u32(f.snd + 1) }))
        expect(f.h.stateOf(f.id)).toBe("FIN-WAIT-2")
    })
    test("a bare FIN at RCV.NXT is taken even when our window is zero", () => {
        const f = established()
        seg(f, "PA", { payload: Buffer.alloc(4096, 7) }) // fills the 4096-byte receive ring
        f.h.take()
        f.h.send(to(f, { flags: "FA", seq: u32(f.rcv + 4096), ack: f.snd }))
        expect(f.h.one()).toMatchObject({ flags: "A", ack: u32(f.rcv + 4097), win: 0 })
        expect(f.h.stateOf(f.id)).toBe("CLOSE-WAIT")
        expect(f.h.read(f.id).length).toBe(4096)
        expect(f.h.layer.recv(f.id, Buffer.alloc(1), 0, 1, f.h.now)).toBe(-1) // RECV_EOF
        // A FIN behind data that does not fit is still not taken.
        const g = established()
        g.h.send(to(g, { flags: "PA", seq: g.rcv, ack: g.snd, payload: Buffer.alloc(4096, 7) }))
        g.h.take()
        g.h.send(to(g, { flags: "FPA", seq: u32(g.rcv + 4096), ack: g.snd, payload: "x" }))
        expect(g.h.one()).toMatchObject({ flags: "A", ack: u32(g.rcv + 4096), win: 0 })
        expect(g.h.stateOf(g.id)).toBe("ESTABLISHED")
    })
})

describe("orphans", () => {
    /** The peer answers everything we send with a zero-window ACK, for `ms`. */
    function stubbornPeer(f: Fixture, ms: number): string[] {
        const flags: string[] = []
        for (let t = 0; t < ms; t += 500) {
            f.h.advance(500)
            for (const s of f.h.take()) {
                flags.push(s.flags)
                if (!s.flags.includes("R")) seg(f, "A", { win: 0 })
            }
        }
        return flags
    }
    test("an orphan in FIN-WAIT-1 whose peer keeps a zero window is reset after tcpOrphanTimeoutMs", () => {
        const f = established()
        seg(f, "A", { win: 0 })
        f.h.write(f.id, "x".repeat(1000))
        f.h.take()
        const slot = f.h.layer.conns[f.id & 0xff]
        f.h.layer.close(f.id, f.h.now) // the user lets go: an orphan
        expect(slot.state).toBe(TcpState.FinWait1)
        const early = stubbornPeer(f, 59000)
        expect(early.length).toBeGreaterThan(5) // probed, answered, alive
        expect(slot.inUse).toBe(true)
        const late = stubbornPeer(f, 2000)
        expect(late).toContain("R")
        expect(slot.inUse).toBe(false)
        expect(f.h.layer.counters.orphansAborted).toBe(1)
    })
    test("LAST-ACK and CLOSING orphans too; the limit is configurable", () => {
        for (const fixture of [lastAck, closing]) {
            const f = fixture({ tcpOrphanTimeoutMs: 5000 })
            const slot = f.h.layer.conns[f.id & 0xff]
            f.h.layer.close(f.id, f.h.now)
            // The peer stays silent: our FIN's retransmissions (1 s, 2 s, 4 s ...) are far from
            // tcpMaxRetries when the orphan limit comes.
            f.h.runFor(4900)
            expect(slot.inUse).toBe(true)
            f.h.take()
            f.h.runFor(200)
            expect(f.h.take().map((s) => s.flags)).toContain("R")
            expect(slot.inUse).toBe(false)
        }
    })
    test("an orphan that completes its close in time is not reset", () => {
        const f = finWait1({ tcpOrphanTimeoutMs: 5000 })
        f.h.layer.close(f.id, f.h.now)
        f.h.advance(4000)
        f.h.take()
        seg(f, "FA")
        const slot = f.h.layer.conns[f.id & 0xff]
        expect(slot.state).toBe(TcpState.TimeWait)
        f.h.runFor(10000)
        expect(f.h.take().map((s) => s.flags)).not.toContain("R")
        expect(f.h.layer.counters.orphansAborted).toBe(0)
    })
})
