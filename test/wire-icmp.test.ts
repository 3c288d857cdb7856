import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { IcmpEchoRepr, icmpCheck, icmpEchoEmit, icmpEchoParse, ICMP_ERR_CHECKSUM, ICMP_ERR_SHORT, ICMP_OK } from "../src/wire/icmp"
import { icmpEcho } from "./helpers/frames"

const echoArb = fc.record({
    type: fc.constantFrom(0, 8),
    code: fc.constant(0),
    id: fc.integer({ min: 0, max: 0xffff }),
    seq: fc.integer({ min: 0, max: 0xffff }),
    data: fc.uint8Array({ maxLength: 1472 }),
})

describe("ICMP echo (RFC 792)", () => {
    test("parse(emit(x)) = x; bytes equal the independent builder", () => {
        fc.assert(
            fc.property(echoArb, fc.integer({ min: 0, max: 9 }), (m, off) => {
                const b = Buffer.alloc(off + 8 + m.data.length)
                b.set(m.data, off + 8)
                const r = Object.assign(new IcmpEchoRepr(), { type: m.type, code: m.code, ident: m.id, seq: m.seq, dataLen: m.data.length })
                expect(icmpEchoEmit(r, b, off)).toBe(8 + m.data.length)
                expect(b.subarray(off)).toEqual(icmpEcho(m))
                const back = new IcmpEchoRepr()
                expect(icmpEchoParse(b, off, 8 + m.data.length, back)).toBe(true)
                expect({ ...back }).toEqual({ ...r })
            }),
        )
    })
    test("other message types parse too (checksum over the whole message)", () => {
        const m = icmpEcho({ type: 3, code: 3, id: 0, seq: 0, data: Buffer.alloc(28, 0x45) })
        const r = new IcmpEchoRepr()
        expect(icmpEchoParse(m, 0, m.length, r)).toBe(true)
        expect(r.type).toBe(3)
        expect(r.code).toBe(3)
        expect(r.dataLen).toBe(28)
    })
    test("rejects short messages", () => {
        const m = icmpEcho({ type: 8, id: 1, seq: 1, data: Buffer.alloc(0) })
        for (let len = 0; len < 8; len++) expect(icmpCheck(m, 0, len)).toBe(ICMP_ERR_SHORT)
        expect(icmpCheck(m, 0, 8)).toBe(ICMP_OK)
        expect(icmpCheck(m, 1, 8)).toBe(ICMP_ERR_SHORT)
    })
    test("rejects any single-bit error anywhere in the message, and a truncated message", () => {
        fc.assert(
            fc.property(echoArb, fc.nat(), (m, pick) => {
                const good = icmpEcho(m)
                const bit = pick % (good.length * 8)
                const bad = Buffer.from(good)
                bad[bit >> 3] ^= 0x80 >> (bit & 7)
                expect(icmpCheck(bad, 0, bad.length)).toBe(ICMP_ERR_CHECKSUM)
                expect(icmpEchoParse(bad, 0, bad.length, new IcmpEchoRepr())).toBe(false)
            }),
        )
        const m = icmpEcho({ type: 8, id: 1, seq: 1, data: Buffer.from([1, 2, 3, 4]) })
        expect(icmpCheck(m, 0, m.length - 2)).toBe(ICMP_ERR_CHECKSUM)
    })
})
