// ESTABLISHED (RFC 9293 §3.10.7.4): acceptability, trimming, RST/SYN/ACK checks with
// RFC 5961 challenge ACKs, data delivery, out-of-order reassembly, windows.
import { describe, expect, test } from "vitest"
import { established, Fixture, REMOTE_ISS, to, u32 } from "./helpers/tcp-fixtures"
import { ECONNRESET } from "../src/tcp/errors"
import { TCP_EV_READABLE } from "../src/tcp/events"

function data(f: Fixture, off: number, payload: string | Buffer, flags = "PA") {
    f.h.send(to(f, { flags, seq: u32(f.rcv + off), ack: f.snd, payload }))
}

describe("receiving data", () => {
    test("in order: readable at once, ACK delayed by tcpDelayedAckMs", () => {
        const f = established()
        f.h.events = []
        data(f, 0, "hello")
        f.h.none()
        expect(f.h.events).toEqual([{ handle: f.id, events: TCP_EV_READABLE }])
        f.h.advance(99)
        f.h.none()
        f.h.advance(1)
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: REMOTE_ISS + 6, win: 4091 })
        expect(f.h.read(f.id).toString()).toBe("hello")
    })
    test("every second full-sized segment is acknowledged at once", () => {
        const f = established()
        data(f, 0, Buffer.alloc(1460, 1))
        f.h.none()
        data(f, 1460, Buffer.alloc(1460, 2))
        expect(f.h.one()).toMatchObject({ flags: "A", ack: u32(f.rcv + 2920), win: 4096 - 2920 })
    })
    test("outside the window: answered with an ACK, dropped", () => {
        const f = established()
        data(f, 5000, "late")
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: f.rcv })
        data(f, -10, "0123456789") // an old duplicate
        expect(f.h.one()).toMatchObject({ flags: "A", ack: f.rcv })
        expect(f.h.layer.bytesReadable(f.id)).toBe(0)
        expect(f.h.layer.counters.rxOutOfWindow).toBe(2)
    })
    test("overlapping the left edge: only the new part is taken", () => {
        const f = established()
        data(f, 0, "abcdef")
        expect(f.h.read(f.id).toString()).toBe("abcdef")
        data(f, 3, "defghi")
        expect(f.h.read(f.id).toString()).toBe("ghi")
    })
    test("beyond the right edge: trimmed to the window", () => {
        const f = established()
        data(f, 0, Buffer.alloc(4200, 9))
        expect(f.h.layer.bytesReadable(f.id)).toBe(4096)
        f.h.advance(100)
        expect(f.h.one()).toMatchObject({ ack: u32(f.rcv + 4096), win: 0 })
    })
    test("zero window: a probe gets an ACK with window 0; reading opens the window (SWS avoidance)", () => {
        const f = established()
        data(f, 0, Buffer.alloc(1460, 1))
        data(f, 1460, Buffer.alloc(1460, 2))
        f.h.take()
        data(f, 2920, Buffer.alloc(1176, 3))
        f.h.advance(100)
        expect(f.h.one()).toMatchObject({ ack: u32(f.rcv + 4096), win: 0 })
        data(f, 4096, "p") // zero-window probe
        expect(f.h.one()).toMatchObject({ flags: "A", ack: u32(f.rcv + 4096), win: 0 })
        // Reading a little does not announce a silly window.
        f.h.read(f.id, 100)
        f.h.none()
        f.h.read(f.id, 1400)
        expect(f.h.one()).toMatchObject({ flags: "A", ack: u32(f.rcv + 4096), win: 1500 })
    })
    test("no ACK bit: the segment is dropped", () => {
        const f = established()
        data(f, 0, "x", "P")
        f.h.none()
        expect(f.h.layer.bytesReadable(f.id)).toBe(0)
    })
})

describe("out-of-order reassembly", () => {
    test("a later segment is kept and acknowledged at once; the hole fill releases both", () => {
        const f = established()
        data(f, 10, "klmnopqrst")
        expect(f.h.one()).toMatchObject({ flags: "A", ack: f.rcv }) // duplicate ACK
        expect(f.h.layer.bytesReadable(f.id)).toBe(0)
        data(f, 0, "abcdefghij")
        expect(f.h.one()).toMatchObject({ flags: "A", ack: u32(f.rcv + 20) })
        expect(f.h.read(f.id).toString()).toBe("abcdefghijklmnopqrst")
    })
    test("across the ring's wrap point", () => {
        const f = established()
        data(f, 0, Buffer.alloc(3000, 1))
        f.h.read(f.id, 3000)
        data(f, 4500, Buffer.alloc(1500, 3)) // crosses the end of the 4096-byte ring
        data(f, 3000, Buffer.alloc(1500, 2))
        const got = f.h.read(f.id, 4000)
        expect(got.length).toBe(3000)
        expect(got[0]).toBe(2)
        expect(got[1499]).toBe(2)
        expect(got[1500]).toBe(3)
        expect(got[2999]).toBe(3)
    })
    test("at most tcpReassemblyRanges ranges: one more is dropped and counted", () => {
        const f = established()
        for (let i = 1; i <= 5; i++) data(f, i * 20, String.fromCharCode(64 + i).repeat(5))
        f.h.take()
        expect(f.h.layer.counters.rxOooDropped).toBe(1)
        data(f, 0, "x".repeat(20)) // fills the first hole only
        expect(f.h.read(f.id).toString()).toBe("x".repeat(20) + "AAAAA")
    })
    test("a FIN beyond a hole is taken when the hole fills", () => {
        const f = established()
        data(f, 10, "klmnopqrst", "FA")
        expect(f.h.one()).toMatchObject({ ack: f.rcv })
        expect(f.h.stateOf(f.id)).toBe("ESTABLISHED")
        data(f, 0, "abcdefghij")
        expect(f.h.one()).toMatchObject({ ack: u32(f.rcv + 21) })
        expect(f.h.stateOf(f.id)).toBe("CLOSE-WAIT")
        expect(f.h.read(f.id).toString()).toBe("abcdefghijklmnopqrst")
        expect(f.h.layer.recv(f.id, Buffer.alloc(1), 0, 1, f.h.now)).toBe(-1)
    })
})

describe("RST and SYN in ESTABLISHED (RFC 5961 §3, §4)", () => {
    test("RST exactly at RCV.NXT resets the connection", () => {
        const f = established()
        f.h.write(f.id, "unsent?")
        f.h.take()
        f.h.send(to(f, { flags: "R", seq: f.rcv }))
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("CLOSED")
        expect(f.h.layer.error(f.id)).toBe(ECONNRESET)
        expect(f.h.layer.recv(f.id, Buffer.alloc(4), 0, 4, f.h.now)).toBe(-ECONNRESET)
        expect(f.h.write(f.id, "x")).toBe(-ECONNRESET)
        expect(f.h.layer.pollAt()).toBeGreaterThan(1e14) // no timers left
        f.h.layer.close(f.id, f.h.now)
        expect(f.h.layer.conns.every((c) => !c.inUse)).toBe(true)
    })
    test("RST elsewhere in the window: challenge ACK, connection kept", () => {
        const f = established()
        f.h.send(to(f, { flags: "R", seq: u32(f.rcv + 1) }))
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: f.rcv })
        expect(f.h.stateOf(f.id)).toBe("ESTABLISHED")
    })
    test("RST outside the window: silently dropped", () => {
        const f = established()
        f.h.send(to(f, { flags: "R", seq: u32(f.rcv + 100000) }))
        f.h.send(to(f, { flags: "R", seq: u32(f.rcv - 1) }))
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("ESTABLISHED")
    })
    test("SYN in a synchronized state: challenge ACK", () => {
        const f = established()
        f.h.send(to(f, { flags: "S", seq: u32(f.rcv + 5) }))
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: f.rcv })
        expect(f.h.stateOf(f.id)).toBe("ESTABLISHED")
    })
    test("a RST whose text overlaps RCV.NXT is judged by SEG.SEQ, not the trimmed start: challenge ACK", () => {
        const f = established()
        // SEG.SEQ = RCV.NXT - 1000 with 1200 bytes: acceptable (its end is in the window),
        // but SEG.SEQ != RCV.NXT. Trimming would have moved it to RCV.NXT.
        f.h.send(to(f, { flags: "RA", seq: u32(f.rcv - 1000), ack: f.snd, payload: Buffer.alloc(1200) }))
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: f.rcv })
        expect(f.h.stateOf(f.id)).toBe("ESTABLISHED")
        expect(f.h.layer.error(f.id)).toBe(0)
        expect(f.h.layer.bytesReadable(f.id)).toBe(0)
    })
    test("a SYN at RCV.NXT - 1 with text keeps its SYN bit: challenge ACK, text not taken", () => {
        const f = established()
        f.h.send(to(f, { flags: "SA", seq: u32(f.rcv - 1), ack: f.snd, payload: "evil" }))
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: f.rcv })
        expect(f.h.layer.bytesReadable(f.id)).toBe(0)
        expect(f.h.stateOf(f.id)).toBe("ESTABLISHED")
        expect(f.h.layer.counters.challengeAcks).toBe(1)
    })
    test("challenge ACKs are limited to tcpChallengeAckLimit per second", () => {
        const f = established()
        for (let i = 0; i < 15; i++) f.h.send(to(f, { flags: "R", seq: u32(f.rcv + 1 + i) }))
        expect(f.h.take().length).toBe(10)
        expect(f.h.layer.counters.challengeAcksSuppressed).toBe(5)
        f.h.advance(999)
        f.h.send(to(f, { flags: "R", seq: u32(f.rcv + 1) }))
        f.h.none()
        f.h.advance(1)
        f.h.send(to(f, { flags: "R", seq: u32(f.rcv + 1) }))
        expect(f.h.one().flags).toBe("A")
    })
})

describe("ACK processing (RFC 9293 §3.10.7.4 fifth, RFC 5961 §5)", () => {
    test("an ACK for data never sent: challenge ACK, segment dropped", () => {
        const f = established()
        data(f, 0, "zzz")
        f.h.take()
        f.h.send(to(f, { flags: "PA", seq: u32(f.rcv + 3), ack: u32(f.snd + 10), payload: "yy" }))
        expect(f.h.one()).toMatchObject({ flags: "A", ack: u32(f.rcv + 3) })
        expect(f.h.layer.bytesReadable(f.id)).toBe(3)
    })
    test("an ACK older than SND.UNA - MAX.SND.WND: challenge ACK; a recent old ACK is fine", () => {
        const f = established({}, 4096)
        f.h.write(f.id, "abc")
        f.h.take()
        f.h.send(to(f, { flags: "A", seq: f.rcv, ack: u32(f.snd + 3) }))
        f.h.none()
        f.h.send(to(f, { flags: "PA", seq: f.rcv, ack: u32(f.snd - 5000), payload: "no" }))
        expect(f.h.one()).toMatchObject({ flags: "A", ack: f.rcv })
        expect(f.h.layer.bytesReadable(f.id)).toBe(0)
        f.h.send(to(f, { flags: "PA", seq: f.rcv, ack: u32(f.snd + 1), payload: "ok" }))
        expect(f.h.layer.bytesReadable(f.id)).toBe(2)
    })
    test("several segments in flight, limited by the peer's window", () => {
        const f = established({}, 2000)
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        f.h.write(f.id, Buffer.alloc(3000, 5))
        // 540 more would fit the window, but sender SWS avoidance waits for half the
        // largest window seen (RFC 1122 §4.2.3.4).
        expect(f.h.take().map((s) => s.payload.length)).toEqual([1460])
        // The ACK of the first segment slides the window by 1460.
        f.h.send(to(f, { flags: "A", seq: f.rcv, ack: u32(f.snd + 1460), win: 2000 }))
        expect(f.h.take().map((s) => s.payload.length)).toEqual([1460, 80])
    })
    test("a window update alone releases data", () => {
        const f = established({}, 0)
        f.h.write(f.id, "hello")
        f.h.none()
        f.h.send(to(f, { flags: "A", seq: f.rcv, ack: f.snd, win: 100 }))
        expect(f.h.one()).toMatchObject({ flags: "PA", seq: f.snd, payload: Buffer.from("hello") })
    })
    test("an older segment does not shrink the window (SND.WL1/WL2)", () => {
        const f = established({}, 100)
        data(f, 0, "a")
        f.h.send(to(f, { flags: "A", seq: f.rcv, ack: f.snd, win: 0 })) // older seq than the data segment
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        f.h.take()
        f.h.write(f.id, "bbb")
        expect(f.h.one().payload.toString()).toBe("bbb")
    })
    test("acknowledged data frees send-ring space and reports writable", () => {
        const f = established({ tcpSendBuffer: 2048 }, 60000)
        expect(f.h.write(f.id, Buffer.alloc(3000, 1))).toBe(2048)
        expect(f.h.layer.writable(f.id)).toBe(false)
        f.h.take()
        f.h.events = []
        f.h.send(to(f, { flags: "A", seq: f.rcv, ack: u32(f.snd + 1024) }))
        expect(f.h.layer.sendSpace(f.id)).toBe(1024)
        expect(f.h.events).toEqual([{ handle: f.id, events: 2 }])
    })
})
