import { describe, expect, test } from "vitest"
import fc from "fast-check"
import {
    EthernetRepr,
    ethernetEmit,
    ethernetParse,
    macIsBroadcast,
    macIsGroup,
    ETHERNET_HEADER_LEN,
    ETHERTYPE_ARP,
} from "../src/wire/ethernet"
import { ethernet, decodeEthernet } from "./helpers/frames"

const macArb = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })

describe("Ethernet II", () => {
    test("parse(emit(x)) = x at any offset", () => {
        fc.assert(
            fc.property(macArb, macArb, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 20 }), (dst, src, type, off) => {
                const r = new EthernetRepr()
                r.dst.set(dst)
                r.src.set(src)
                r.etherType = type
                const b = Buffer.alloc(off + 14)
                expect(ethernetEmit(r, b, off)).toBe(ETHERNET_HEADER_LEN)
                const back = new EthernetRepr()
                expect(ethernetParse(b, off, 14, back)).toBe(true)
                expect([...back.dst]).toEqual(dst)
                expect([...back.src]).toEqual(src)
                expect(back.etherType).toBe(type)
                // The independent decoder agrees on the bytes.
                const d = decodeEthernet(b.subarray(off))
                expect(d).toMatchObject({ dst, src, type })
            }),
        )
    })
    test("parses frames built by the independent builder", () => {
        const f = ethernet({ dst: [1, 2, 3, 4, 5, 6], src: [7, 8, 9, 10, 11, 12], type: ETHERTYPE_ARP }, Buffer.from([1, 2, 3]))
        const r = new EthernetRepr()
        expect(ethernetParse(f, 0, f.length, r)).toBe(true)
        expect([...r.dst]).toEqual([1, 2, 3, 4, 5, 6])
        expect([...r.src]).toEqual([7, 8, 9, 10, 11, 12])
        expect(r.etherType).toBe(0x0806)
    })
    test("rejects frames shorter than a header and views outside the buffer", () => {
        const r = new EthernetRepr()
        const b = Buffer.alloc(14)
        for (let len = 0; len < 14; len++) expect(ethernetParse(b, 0, len, r)).toBe(false)
        expect(ethernetParse(b, 1, 14, r)).toBe(false)
        expect(ethernetParse(b, -1, 14, r)).toBe(false)
        expect(ethernetParse(b, 0, 14, r)).toBe(true)
    })
    test("broadcast and group addresses", () => {
        expect(macIsBroadcast(Buffer.from([255, 255, 255, 255, 255, 255]), 0)).toBe(true)
        expect(macIsBroadcast(Buffer.from([255, 255, 255, 255, 255, 254]), 0)).toBe(false)
        expect(macIsGroup(Buffer.from([0x01, 0, 0x5e, 0, 0, 1]), 0)).toBe(true)
        expect(macIsGroup(Buffer.from([0x33, 0x33, 0, 0, 0, 1]), 0)).toBe(true)
        expect(macIsGroup(Buffer.from([0x02, 0, 0, 0, 0, 1]), 0)).toBe(false)
    })
})
