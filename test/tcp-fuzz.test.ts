// Random segments against connections in every state: the layer never throws, never
// allocates, and keeps its invariants (rings within capacity, timers sane).
import { describe, expect, test } from "vitest"
import fc from "fast-check"
import {
    closeWait, closing, established, finWait1, finWait2, Fixture, lastAck, listening, LOCAL_IP, REMOTE_IP,
    synReceived, synSent, timeWait, u32,
} from "./helpers/tcp-fixtures"
import { allocationCount } from "../src/util/bytes"

const FIXTURES = [synSent, synReceived, established, finWait1, finWait2, closeWait, closing, lastAck, timeWait]

const segArb = fc.record({
    flags: fc.integer({ min: 0, max: 63 }),
    seqDelta: fc.oneof(fc.integer({ min: -70000, max: 70000 }), fc.integer({ min: 0, max: 0xffffffff })),
    ackDelta: fc.oneof(fc.integer({ min: -70000, max: 70000 }), fc.integer({ min: 0, max: 0xffffffff })),
    win: fc.integer({ min: 0, max: 65535 }),
    len: fc.integer({ min: 0, max: 3000 }),
    mss: fc.integer({ min: 0, max: 2000 }),
    dt: fc.integer({ min: 0, max: 3000 }),
    op: fc.integer({ min: 0, max: 9 }),
})

function letters(f: number): string {
    return ["F", "S", "R", "P", "A", "U"].filter((_, i) => f & (1 << i)).join("")
}

function checkInvariants(f: Fixture): void {
    for (const c of f.h.layer.conns) {
        expect(c.sendRing.count).toBeGreaterThanOrEqual(0)
        expect(c.sendRing.count).toBeLessThanOrEqual(c.sendRing.capacity)
        expect(c.recvRing.count).toBeLessThanOrEqual(c.recvRing.capacity)
        expect(c.asm.rangeCount()).toBeLessThanOrEqual(c.asm.maxRanges)
        expect(Number.isFinite(c.nextDeadline())).toBe(true)
        expect(c.cwnd).toBeGreaterThanOrEqual(0)
    }
}

describe("fuzzing the state machine", () => {
    test.each(FIXTURES.map((fx) => [fx.name, fx]))("%s: random segments and user calls", (_, fx) => {
        fc.assert(fc.property(fc.array(segArb, { maxLength: 40 }), (segs) => {
            const f = (fx as () => Fixture)()
            const buf = Buffer.alloc(4000, 0x5a)
            const before = allocationCount()
            for (const s of segs) {
                f.h.now += s.dt
                f.h.layer.poll(f.h.now)
                f.h.send({
                    flags: letters(s.flags), seq: u32(f.rcv + s.seqDelta), ack: u32(f.snd + s.ackDelta),
                    win: s.win, mss: s.mss, dstPort: f.localPort, payload: buf.subarray(0, s.len),
                })
                if (s.op === 0) f.h.layer.send(f.id, buf, 0, s.len, f.h.now)
                else if (s.op === 1) f.h.layer.recv(f.id, buf, 0, s.len, f.h.now)
                else if (s.op === 2) f.h.layer.shutdown(f.id, f.h.now)
                else if (s.op === 3 && s.len < 100) f.h.layer.close(f.id, f.h.now)
                f.h.take()
                checkInvariants(f)
            }
            expect(allocationCount()).toBe(before)
        }), { numRuns: 150 })
    })

    test("random segments to a listener", () => {
        fc.assert(fc.property(fc.array(segArb, { maxLength: 60 }), (segs) => {
            const { h, lid } = listening({}, 2)
            for (const s of segs) {
                h.now += s.dt
                h.layer.poll(h.now)
                h.send({ flags: letters(s.flags), seq: u32(s.seqDelta), ack: u32(s.ackDelta), win: s.win, mss: s.mss, srcPort: 1000 + (s.op % 3) })
                if (s.op === 9) h.layer.accept(lid)
                h.take()
            }
            expect(h.layer.requests.entries.filter((r) => r.listener >= 0).length).toBeLessThanOrEqual(2)
            expect(h.layer.listeners[0].acceptQueueLength()).toBeLessThanOrEqual(2)
        }), { numRuns: 200 })
    })

    test("random bytes as TCP payloads of IP datagrams", () => {
        const { h } = listening()
        fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (a) => {
            const b = Buffer.from(a)
            h.layer.ipv4Input(h.ip, b, 0, b.length, REMOTE_IP, LOCAL_IP, h.now)
        }), { numRuns: 500 })
        expect(h.layer.counters.rxDropChecksum + h.layer.counters.rxDropMalformed).toBeGreaterThan(400)
    })
})
