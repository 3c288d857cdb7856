import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { UDP_ERR_CHECKSUM, UDP_ERR_LENGTH, UDP_ERR_SHORT, UDP_OK, udpCheck, udpEmit } from "../src/wire/udp"
import { checksum } from "./helpers/frames"

/** An independent UDP builder: pseudo-header + header + data, checksum from the RFC 768 definition. */
function udpDatagram(src: number, dst: number, sport: number, dport: number, data: Uint8Array, withSum = true): Buffer {
    const b = Buffer.alloc(8 + data.length)
    b.writeUInt16BE(sport, 0)
    b.writeUInt16BE(dport, 2)
    b.writeUInt16BE(b.length, 4)
    Buffer.from(data).copy(b, 8)
    if (withSum) {
        const c = checksum(Buffer.concat([pseudo(src, dst, b.length), b]))
        b.writeUInt16BE(c === 0 ? 0xffff : c, 6)
    }
    return b
}

function pseudo(src: number, dst: number, len: number): Buffer {
    const p = Buffer.alloc(12)
    p.writeUInt32BE(src >>> 0, 0)
    p.writeUInt32BE(dst >>> 0, 4)
    p[9] = 17
    p.writeUInt16BE(len, 10)
    return p
}

const u32 = fc.integer({ min: 0, max: 0xffffffff })
const port = fc.integer({ min: 0, max: 0xffff })

describe("UDP (RFC 768)", () => {
    test("emit matches the independent builder and checks back OK at any offset", () => {
        fc.assert(
            fc.property(u32, u32, port, port, fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 7 }), (src, dst, sp, dp, data, off) => {
                const b = Buffer.alloc(off + 8 + data.length + 3, 0xee)
                Buffer.from(data).copy(b, off + 8)
                expect(udpEmit(b, off, sp, dp, data.length, src, dst)).toBe(8 + data.length)
                expect(b.subarray(off, off + 8 + data.length)).toEqual(udpDatagram(src, dst, sp, dp, data))
                expect(udpCheck(b, off, 8 + data.length, src, dst)).toBe(UDP_OK)
                // Trailing bytes beyond the UDP length (Ethernet padding) are ignored.
                expect(udpCheck(b, off, 8 + data.length + 3, src, dst)).toBe(UDP_OK)
            }),
        )
    })

    test("a computed checksum of 0 is sent as 0xffff, and 0 on receive means none", () => {
        const src = 0x0a000201
        const dst = 0x0a00020f
        // Choose the last data word so that the one's-complement sum is 0xffff (checksum 0).
        const data = Buffer.from([1, 2, 3, 4, 0, 0])
        const c = checksum(Buffer.concat([pseudo(src, dst, 14), udpDatagram(src, dst, 68, 67, data, false)]))
        data.writeUInt16BE(c, 4)
        const b = Buffer.alloc(14)
        data.copy(b, 8)
        udpEmit(b, 0, 68, 67, 6, src, dst)
        expect(b.readUInt16BE(6)).toBe(0xffff)
        expect(udpCheck(b, 0, 14, src, dst)).toBe(UDP_OK)
        const none = udpDatagram(src, dst, 5, 6, Buffer.from("abc"), false)
        expect(none.readUInt16BE(6)).toBe(0)
        expect(udpCheck(none, 0, none.length, src, dst)).toBe(UDP_OK)
    })

    test("rejects short buffers, bad lengths and any flipped bit (pseudo-header included)", () => {
        const src = 0xc0a80001
        const dst = 0xc0a800c7
        const d = udpDatagram(src, dst, 1234, 53, Buffer.from("hello, world"))
        for (let n = 0; n < 8; n++) expect(udpCheck(d, 0, n, src, dst)).toBe(UDP_ERR_SHORT)
        expect(udpCheck(d, 1, d.length, src, dst)).toBe(UDP_ERR_SHORT)
        const long = Buffer.from(d)
        long.writeUInt16BE(d.length + 1, 4)
        expect(udpCheck(long, 0, d.length, src, dst)).toBe(UDP_ERR_LENGTH)
        const tiny = Buffer.from(d)
        tiny.writeUInt16BE(7, 4)
        expect(udpCheck(tiny, 0, d.length, src, dst)).toBe(UDP_ERR_LENGTH)
        for (let bit = 0; bit < d.length * 8; bit++) {
            if (bit >= 32 && bit < 48) continue // the length field has its own error
            const x = Buffer.from(d)
            x[bit >> 3] ^= 1 << (bit & 7)
            expect(udpCheck(x, 0, x.length, src, dst)).toBe(UDP_ERR_CHECKSUM)
        }
        expect(udpCheck(d, 0, d.length, src ^ 0x100, dst)).toBe(UDP_ERR_CHECKSUM)
        expect(udpCheck(d, 0, d.length, src, dst ^ 1)).toBe(UDP_ERR_CHECKSUM)
    })
})
