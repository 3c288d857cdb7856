import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { allocBytes, allocationCount, copyBytes, fillBytes, getU16BE, getU32BE, setU16BE, setU32BE, bytesEqual, NATIVE_BUFFERS } from "../src/util/bytes"
import { checksumAdd, checksumFinish, foldTo16, internetChecksum } from "../src/util/checksum"

// RFC 1071 straight from the definition, as the reference.
function referenceChecksum(data: Uint8Array): number {
    let sum = 0
    for (let i = 0; i < data.length; i += 2) {
        sum += (data[i] << 8) | (i + 1 < data.length ? data[i + 1] : 0)
        sum = (sum & 0xffff) + (sum >>> 16)
    }
    return ~sum & 0xffff
}

describe("bytes", () => {
    test("Node takes the portable path", () => {
        expect(NATIVE_BUFFERS).toBe(false)
    })
    test("allocBytes counts calls and returns zeroed memory", () => {
        const before = allocationCount()
        const b = allocBytes(16)
        expect(allocationCount()).toBe(before + 1)
        expect([...b].every((x) => x === 0)).toBe(true)
    })
    test("big-endian accessors round-trip and stay unsigned", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }), (u32, u16) => {
                const b = Buffer.alloc(8)
                setU32BE(b, 1, u32)
                setU16BE(b, 5, u16)
                return getU32BE(b, 1) === u32 && getU16BE(b, 5) === u16 && b.readUInt32BE(1) === u32
            }),
        )
    })
    test("copy and fill touch exactly the given range", () => {
        const src = Buffer.from([1, 2, 3, 4, 5, 6])
        const dst = Buffer.alloc(8, 9)
        copyBytes(dst, 1, src, 2, 3)
        expect([...dst]).toEqual([9, 3, 4, 5, 9, 9, 9, 9])
        fillBytes(dst, 4, 2, 0)
        expect([...dst]).toEqual([9, 3, 4, 5, 0, 0, 9, 9])
        copyBytes(dst, 0, src, 0, 0)
        expect(dst[0]).toBe(9)
        expect(bytesEqual(dst, 1, src, 2, 3)).toBe(true)
        expect(bytesEqual(dst, 0, src, 2, 3)).toBe(false)
    })
})

describe("internet checksum", () => {
    test("matches RFC 1071 on random data of any length and offset", () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 1600 }), fc.integer({ min: 0, max: 7 }), (data, pad) => {
                const b = Buffer.alloc(data.length + pad)
                b.set(data, pad)
                return internetChecksum(b, pad, data.length) === referenceChecksum(data)
            }),
        )
    })
    test("chained even chunks equal one pass", () => {
        fc.assert(
            fc.property(fc.uint8Array({ minLength: 2, maxLength: 600 }), fc.nat(), (data, cut) => {
                const b = Buffer.from(data)
                const at = (cut % b.length) & ~1
                const chained = checksumFinish(checksumAdd(checksumAdd(0, b, 0, at), b, at, b.length - at))
                return chained === internetChecksum(b, 0, b.length)
            }),
        )
    })
    test("datasheet example and a header that verifies to zero", () => {
        expect(internetChecksum(Buffer.from([0x89, 0xab, 0xcd]), 0, 3)).toBe(0xa953)
        const h = Buffer.from("45000073000040004011b861c0a80001c0a800c7", "hex")
        expect(internetChecksum(h, 0, 20)).toBe(0)
    })
    test("folding handles sums beyond 32 bits", () => {
        expect(foldTo16(0xffff * 100000)).toBe(0xffff)
        expect(foldTo16(0x1_0000_0000)).toBe(1)
    })
})
