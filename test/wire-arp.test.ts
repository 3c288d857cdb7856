import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { ArpRepr, arpEmit, arpParse, ARP_LEN } from "../src/wire/arp"
import { arpPacket, decodeArp } from "./helpers/frames"

const macArb = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const arpArb = fc.record({
    op: fc.constantFrom(1, 2),
    senderMac: macArb,
    senderIp: u32,
    targetMac: macArb,
    targetIp: u32,
})

function toRepr(a: { op: number; senderMac: number[]; senderIp: number; targetMac: number[]; targetIp: number }): ArpRepr {
    const r = new ArpRepr()
    r.operation = a.op
    r.senderMac.set(a.senderMac)
    r.senderIp = a.senderIp
    r.targetMac.set(a.targetMac)
    r.targetIp = a.targetIp
    return r
}

function fromRepr(r: ArpRepr) {
    return { op: r.operation, senderMac: [...r.senderMac], senderIp: r.senderIp, targetMac: [...r.targetMac], targetIp: r.targetIp }
}

describe("ARP (RFC 826)", () => {
    test("parse(emit(x)) = x, and emit matches the independent builder", () => {
        fc.assert(
            fc.property(arpArb, fc.integer({ min: 0, max: 16 }), (a, off) => {
                const b = Buffer.alloc(off + ARP_LEN + 3)
                expect(arpEmit(toRepr(a), b, off)).toBe(ARP_LEN)
                expect(b.subarray(off, off + ARP_LEN)).toEqual(arpPacket(a))
                const back = new ArpRepr()
                expect(arpParse(b, off, ARP_LEN, back)).toBe(true)
                expect(fromRepr(back)).toEqual(a)
                expect(decodeArp(b.subarray(off))).toEqual(a)
            }),
        )
    })
    test("rejects short packets", () => {
        const p = arpPacket({ op: 1, senderMac: [2, 0, 0, 0, 0, 1], senderIp: 1, targetMac: [0, 0, 0, 0, 0, 0], targetIp: 2 })
        const r = new ArpRepr()
        for (let len = 0; len < ARP_LEN; len++) expect(arpParse(p, 0, len, r)).toBe(false)
        expect(arpParse(p, 1, ARP_LEN, r)).toBe(false) // view past the end of the buffer
    })
    test.each([
        ["hardware type", 0, 0x00, 0x06],
        ["protocol type", 2, 0x86, 0xdd],
        ["hardware length", 4, 8, null],
        ["protocol length", 5, 16, null],
        ["operation 0", 6, 0, 0],
        ["operation 3 (RARP)", 6, 0, 3],
    ])("rejects a bad %s", (_name, off, v1, v2) => {
        const p = arpPacket({ op: 1, senderMac: [2, 0, 0, 0, 0, 1], senderIp: 1, targetMac: [0, 0, 0, 0, 0, 0], targetIp: 2 })
        const r = new ArpRepr()
        expect(arpParse(p, 0, ARP_LEN, r)).toBe(true)
        p[off] = v1 as number
        if (v2 !== null) p[off + 1] = v2
        expect(arpParse(p, 0, ARP_LEN, r)).toBe(false)
    })
})
