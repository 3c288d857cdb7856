// Timers and congestion control: RFC 6298 retransmission, RFC 5681/6582 fast retransmit
// and congestion window, Nagle, delayed ACK, persist, keepalive.
import { describe, expect, test } from "vitest"
import { established, Fixture, REMOTE_ISS, synSent, to, u32 } from "./helpers/tcp-fixtures"
import { ETIMEDOUT } from "../src/tcp/errors"
import { TCP_EV_ERROR } from "../src/tcp/events"
import { TcpConnStats } from "../src/tcp/info"
import { OUTPUT_RETRY_MS } from "../src/tcp/shared"
import { Connection } from "../src/tcp/connection"
import { RttEstimator } from "../src/tcp/rtt"
import { ccInit, ccOnDupAck, ccOnNewAck, ccOnTimeout } from "../src/tcp/congestion"
import { seqAdd } from "../src/tcp/seq"

function ack(f: Fixture, n: number, win = 60000) {
    f.h.send(to(f, { flags: "A", seq: f.rcv, ack: u32(f.snd + n), win }))
}

function stats(f: Fixture): TcpConnStats {
    const s = new TcpConnStats()
    expect(f.h.layer.stats(f.id, s)).toBe(true)
    return s
}

describe("retransmission timeout (RFC 6298)", () => {
    test("back-off doubles the RTO; after tcpMaxRetries the connection fails with ETIMEDOUT", () => {
        const f = established({ tcpMaxRetries: 3 })
        f.h.write(f.id, "data")
        f.h.take()
        const start = f.h.now
        const times: number[] = []
        f.h.events = []
        for (let t = 0; t < 10000; t += 10) {
            f.h.advance(10)
            for (const s of f.h.take()) {
                expect(s).toMatchObject({ seq: f.snd, payload: Buffer.from("data") })
                times.push(f.h.now - start)
            }
        }
        expect(times).toEqual([200, 600, 1400])
        expect(f.h.stateOf(f.id)).toBe("CLOSED")
        expect(f.h.layer.error(f.id)).toBe(ETIMEDOUT)
        expect(f.h.events.some((e) => e.events & TCP_EV_ERROR)).toBe(true)
        expect(f.h.write(f.id, "x")).toBe(-ETIMEDOUT)
    })
    test("SRTT/RTTVAR from samples; the RTO follows (RFC 6298 §2)", () => {
        const f = synSent({ tcpRtoMinMs: 10 })
        f.h.advance(40)
        f.h.send(to(f, { flags: "SA", seq: REMOTE_ISS, ack: f.snd, win: 60000 }))
        f.rcv = REMOTE_ISS + 1
        f.h.take()
        let s = stats(f)
        expect(s.srttMs).toBe(40) // first sample: SRTT = R, RTTVAR = R/2
        expect(s.rttvarMs).toBe(20)
        expect(s.rtoMs).toBe(120)
        f.h.write(f.id, "a")
        f.h.take()
        f.h.advance(50)
        ack(f, 1)
        s = stats(f)
        expect(s.rttvarMs).toBeCloseTo(17.5) // 3/4 * 20 + 1/4 * |40 - 50|
        expect(s.srttMs).toBeCloseTo(41.25) // 7/8 * 40 + 1/8 * 50
        expect(s.rtoMs).toBe(112)
    })
    test("Karn: an acknowledged retransmission gives no sample", () => {
        const f = established({ tcpRtoMinMs: 10 })
        f.h.write(f.id, "a")
        f.h.take()
        f.h.advance(10) // RTO 10 ms: retransmitted
        expect(f.h.one().payload.toString()).toBe("a")
        f.h.advance(5)
        const before = stats(f).srttMs
        ack(f, 1)
        expect(stats(f).srttMs).toBe(before)
    })
    test("after a timeout: loss window of one segment, go-back-N, slow start again", () => {
        const f = established({}, 60000, 500)
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        f.h.write(f.id, Buffer.alloc(2000, 1))
        expect(f.h.take().length).toBe(4) // IW = 4 * 500 (RFC 5681 §3.1)
        f.h.advance(200)
        expect(f.h.take().map((s) => s.seq - f.snd)).toEqual([0])
        const s = stats(f)
        expect(s.cwnd).toBe(500)
        expect(s.ssthresh).toBe(1000) // max(FlightSize / 2, 2 * SMSS)
        ack(f, 500)
        expect(f.h.take().map((x) => x.seq - f.snd)).toEqual([500, 1000]) // cwnd 1000
    })
})

describe("fast retransmit and fast recovery (RFC 5681 §3.2, RFC 6582)", () => {
    function inFlight(): Fixture {
        const f = established({ tcpSendBuffer: 16384 }, 60000, 500)
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        f.h.write(f.id, Buffer.alloc(8000, 1))
        expect(f.h.take().length).toBe(4)
        ack(f, 500) // cwnd 2500: two more segments
        expect(f.h.take().length).toBe(2)
        return f // 500..3000 in flight
    }
    test("the third duplicate ACK retransmits the first unacknowledged segment", () => {
        const f = inFlight()
        ack(f, 500)
        ack(f, 500)
        f.h.none()
        ack(f, 500)
        expect(f.h.one()).toMatchObject({ seq: u32(f.snd + 500), payload: Buffer.alloc(500, 1) })
        const s = stats(f)
        expect(s.fastRetransmits).toBe(1)
        expect(s.ssthresh).toBe(1250)
        expect(s.cwnd).toBe(1250 + 3 * 500)
        // Each further duplicate inflates cwnd; new data goes out once cwnd allows it.
        ack(f, 500)
        expect(f.h.take().map((x) => x.seq - f.snd)).toEqual([3000])
    })
    test("a partial ACK retransmits the next hole; a full ACK ends recovery at ssthresh", () => {
        const f = inFlight()
        for (let i = 0; i < 3; i++) ack(f, 500)
        f.h.take()
        ack(f, 1000) // partial: recover is 3000
        expect(f.h.take().map((x) => x.seq - f.snd)).toContain(1000)
        ack(f, 3000)
        const s = stats(f)
        expect(s.cwnd).toBeLessThanOrEqual(1250)
        expect(f.h.layer.conns[0].inRecovery).toBe(false)
    })
    test("after 2^31 bytes without a loss, three duplicate ACKs still mean fast retransmit", () => {
        const c = new Connection(0, 16, 16, 1, new RttEstimator(1000, 200, 60000))
        c.iss = 0x7000
        c.sndMss = 1000
        ccInit(c)
        // 3 GiB acknowledged, 1 GiB at a time, without a loss.
        for (let k = 1; k <= 3; k++) {
            const ack = seqAdd(c.iss, k * 0x40000000)
            c.sndUna = ack
            ccOnNewAck(c, 0x40000000, ack)
        }
        c.sndMax = seqAdd(c.sndUna, 10000) // data in flight, then a loss
        expect(ccOnDupAck(c)).toBe(false)
        expect(ccOnDupAck(c)).toBe(false)
        expect(ccOnDupAck(c)).toBe(true)
        expect(c.inRecovery).toBe(true)
    })
    test("after a timeout, duplicate ACKs below the old SND.NXT do not start fast retransmit (RFC 6582 §4)", () => {
        const c = new Connection(0, 16, 16, 1, new RttEstimator(1000, 200, 60000))
        c.iss = 1000
        c.sndMss = 1000
        ccInit(c)
        c.sndUna = 5001
        ccOnNewAck(c, 4000, 5001)
        c.sndMax = 20001
        ccOnTimeout(c) // recover = 20001
        c.sndUna = 8001
        ccOnNewAck(c, 3000, 8001) // below recover: it stays
        for (let i = 0; i < 3; i++) expect(ccOnDupAck(c)).toBe(false)
        c.sndUna = 20002
        ccOnNewAck(c, 12001, 20002)
        c.sndMax = 30000
        for (let i = 0; i < 2; i++) expect(ccOnDupAck(c)).toBe(false)
        expect(ccOnDupAck(c)).toBe(true)
    })
    test("duplicate ACKs that change the window or carry data are not counted", () => {
        const f = inFlight()
        ack(f, 500, 50000)
        ack(f, 500, 40000)
        ack(f, 500, 30000)
        f.h.none()
        expect(stats(f).fastRetransmits).toBe(0)
    })
})

describe("congestion window growth (RFC 5681 §3.1)", () => {
    test("slow start adds one SMSS per ACK, congestion avoidance one SMSS per window", () => {
        const f = established({ tcpSendBuffer: 32768 }, 60000, 500)
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        f.h.write(f.id, Buffer.alloc(30000, 1))
        let acked = 0
        const cw: number[] = []
        for (let i = 0; i < 4; i++) {
            f.h.take()
            acked += 500
            ack(f, acked)
            cw.push(stats(f).cwnd)
        }
        expect(cw).toEqual([2500, 3000, 3500, 4000])
        const c = f.h.layer.conns[0]
        c.ssthresh = 4000 // now in congestion avoidance
        const before = c.cwnd
        for (let i = 0; i < 7; i++) {
            f.h.take()
            acked += 500
            ack(f, acked)
        }
        expect(c.cwnd).toBe(before) // 3500 bytes acknowledged < cwnd
        f.h.take()
        acked += 500
        ack(f, acked)
        expect(c.cwnd).toBe(before + 500)
    })
})

describe("Nagle (RFC 896, RFC 1122 §4.2.3.4)", () => {
    test("small writes wait while data is unacknowledged, then go together", () => {
        const f = established()
        f.h.write(f.id, "a")
        expect(f.h.one().payload.toString()).toBe("a")
        f.h.write(f.id, "b")
        f.h.write(f.id, "c")
        f.h.none()
        ack(f, 1)
        expect(f.h.one()).toMatchObject({ seq: u32(f.snd + 1), payload: Buffer.from("bc") })
    })
    test("no-delay sends at once", () => {
        const f = established()
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        f.h.write(f.id, "a")
        f.h.write(f.id, "b")
        expect(f.h.take().map((s) => s.payload.toString())).toEqual(["a", "b"])
    })
    test("turning no-delay on releases held data", () => {
        const f = established()
        f.h.write(f.id, "a")
        f.h.write(f.id, "b")
        f.h.take()
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        expect(f.h.one().payload.toString()).toBe("b")
    })
})

describe("delayed ACK (RFC 1122 §4.2.3.2)", () => {
    test("an ACK rides on outgoing data instead of waiting", () => {
        const f = established()
        f.h.send(to(f, { flags: "PA", seq: f.rcv, ack: f.snd, payload: "ping" }))
        f.h.none()
        f.h.write(f.id, "pong")
        expect(f.h.one()).toMatchObject({ flags: "PA", ack: u32(f.rcv + 4) })
        f.h.advance(150)
        f.h.none()
    })
    test("the timer is configurable", () => {
        const f = established({ tcpDelayedAckMs: 40 })
        f.h.send(to(f, { flags: "PA", seq: f.rcv, ack: f.snd, payload: "x" }))
        f.h.advance(39)
        f.h.none()
        f.h.advance(1)
        expect(f.h.one().ack).toBe(u32(f.rcv + 1))
    })
})

describe("zero-window persist (RFC 9293 §3.8.6.1)", () => {
    test("probes with back-off while the window stays closed; data flows when it opens", () => {
        const f = established({}, 0)
        f.h.write(f.id, "hello")
        f.h.none()
        const start = f.h.now
        const probes: number[] = []
        for (let t = 0; t < 1500; t += 10) {
            f.h.advance(10)
            for (const s of f.h.take()) {
                // SEQ = SND.UNA - 1, no data: the receiver must answer with an ACK.
                expect(s).toMatchObject({ flags: "A", seq: u32(f.snd - 1), ack: f.rcv, payload: Buffer.alloc(0) })
                probes.push(f.h.now - start)
                ack(f, 0, 0) // still closed
            }
        }
        expect(probes).toEqual([200, 600, 1400])
        ack(f, 0, 1000)
        expect(f.h.one()).toMatchObject({ seq: f.snd, payload: Buffer.from("hello") })
    })
    test("a window update lost on the way is recovered by the next probe's answer", () => {
        const f = established({}, 0)
        f.h.write(f.id, "hello")
        f.h.advance(200)
        expect(f.h.one().payload.length).toBe(0)
        // The peer's answer to the probe carries the window it opened meanwhile.
        f.h.send(to(f, { flags: "A", seq: f.rcv, ack: f.snd, win: 100 }))
        expect(f.h.one()).toMatchObject({ seq: f.snd, payload: Buffer.from("hello") })
    })
    test("a tiny window below the SWS threshold is used after the persist time", () => {
        const f = established({}, 4000)
        f.h.send(to(f, { flags: "A", seq: f.rcv, ack: f.snd, win: 10 }))
        f.h.write(f.id, "0123456789abcdef")
        f.h.none()
        f.h.advance(200)
        expect(f.h.one().payload.toString()).toBe("0123456789")
    })
    test("unanswered probes end in ETIMEDOUT", () => {
        const f = established({ tcpMaxRetries: 3 }, 0)
        f.h.write(f.id, "hello")
        f.h.runFor(60000)
        expect(f.h.layer.error(f.id)).toBe(ETIMEDOUT)
        expect(f.h.take().map((s) => s.flags)).toEqual(["A", "A", "A", "R"])
        expect(f.h.layer.stats(f.id, new TcpConnStats())).toBe(true)
    })
})

describe("keepalive (RFC 1122 §4.2.3.6)", () => {
    test("idle connection is probed with SEQ = SND.NXT - 1; an answer resets the count", () => {
        const f = established()
        f.h.layer.setKeepalive(f.id, true, 1000, 500, 3, f.h.now)
        f.h.advance(999)
        f.h.none()
        f.h.advance(1)
        expect(f.h.one()).toMatchObject({ flags: "A", seq: u32(f.snd - 1), ack: f.rcv, payload: Buffer.alloc(0) })
        ack(f, 0)
        f.h.advance(999)
        f.h.none()
        f.h.advance(1)
        expect(f.h.one().seq).toBe(u32(f.snd - 1))
    })
    test("unanswered probes end the connection: RST and ETIMEDOUT", () => {
        const f = established()
        f.h.layer.setKeepalive(f.id, true, 1000, 500, 3, f.h.now)
        const times: string[] = []
        const start = f.h.now
        for (let t = 0; t < 5000; t += 100) {
            f.h.advance(100)
            for (const s of f.h.take()) times.push(`${f.h.now - start}:${s.flags}`)
        }
        expect(times).toEqual(["1000:A", "1500:A", "2000:A", "2500:R"])
        expect(f.h.layer.error(f.id)).toBe(ETIMEDOUT)
    })
    test("off by default", () => {
        const f = established()
        f.h.runFor(10 * 3600 * 1000)
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("ESTABLISHED")
    })
})

describe("scheduling", () => {
    test("pollAt is the earliest deadline; output waiting for a frame asks for a poll soon, not at once", () => {
        const f = established()
        expect(f.h.layer.pollAt()).toBeGreaterThan(1e14)
        f.h.ip.framesAvailable = false
        f.h.write(f.id, "x")
        // A short retry delay: frames held for ARP must not make the pump spin on "now".
        expect(f.h.layer.pollAt()).toBe(f.h.now + OUTPUT_RETRY_MS)
        expect(OUTPUT_RETRY_MS).toBeGreaterThan(0)
        expect(f.h.layer.counters.txNoFrame).toBeGreaterThan(0)
        f.h.ip.framesAvailable = true
        f.h.layer.poll(f.h.now)
        expect(f.h.one().payload.toString()).toBe("x")
        expect(f.h.layer.pollAt()).toBe(f.h.now + 200)
    })
})
