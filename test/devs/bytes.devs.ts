// Runs in the DeviceScript VM: the byte helpers and checksum must agree with
// the plain-JS results that the Node tests check.
import * as ds from "@devicescript/core"
import { describe, test, expect } from "@devicescript/test"
import { NATIVE_BUFFERS, copyBytes, fillBytes, getU32BE, setU32BE, allocBytes } from "../../src/util/bytes"
import { internetChecksum, checksumAdd, checksumFinish } from "../../src/util/checksum"

describe("bytes in the VM", () => {
    test("uses native buffer calls", () => {
        expect(NATIVE_BUFFERS).toBe(true)
    })
    test("copy, fill and 32-bit big-endian", () => {
        const a = allocBytes(8)
        const b = allocBytes(8)
        setU32BE(a, 0, 0xdeadbeef)
        expect(getU32BE(a, 0)).toBe(0xdeadbeef)
        copyBytes(b, 2, a, 0, 4)
        expect(b[2]).toBe(0xde)
        expect(b[5]).toBe(0xef)
        fillBytes(b, 0, 3, 7)
        expect(b[2]).toBe(7)
        expect(b[3]).toBe(0xad)
    })
    test("checksum matches the datasheet example and RFC 1071", () => {
        // ENC28J60 datasheet: bytes 89 AB CD give A953.
        const d = Buffer.from([0x89, 0xab, 0xcd])
        expect(internetChecksum(d, 0, 3)).toBe(0xa953)
        // An IPv4 header with a correct checksum sums to zero.
        const h = Buffer.from("450000730000400040110000c0a80001c0a800c7", "hex")
        const c = internetChecksum(h, 0, 20)
        expect(c).toBe(0xb861)
        h[10] = c >> 8
        h[11] = c & 0xff
        expect(internetChecksum(h, 0, 20)).toBe(0)
        // A 1500-byte buffer of 0xff words exercises the u32 path and folding.
        const big = allocBytes(1500)
        fillBytes(big, 0, 1500, 0xff)
        expect(checksumFinish(checksumAdd(0, big, 0, 1500))).toBe(0)
    })

    test("checksum of random bytes at any offset and length matches a plain byte loop", async () => {
        // The native path sums 32 bytes a turn, then 4, then 2: lengths that are not multiples
        // of those, odd offsets and chained partial sums must all agree with the RFC 1071 loop.
        const buf = allocBytes(3100)
        let bad = 0
        for (let t = 0; t < 80; t++) {
            await ds.sleep(0) // the VM's watchdog: each case is a few thousand ops
            for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(Math.random() * 256)
            await ds.sleep(0)
            const len = Math.floor(Math.random() * 3001)
            const off = Math.floor(Math.random() * 40)
            const cut = Math.floor(Math.random() * (len + 1)) & ~1
            const want = plainChecksum(buf, off, len)
            if (checksumFinish(checksumAdd(0, buf, off, len)) !== want) bad++
            if (checksumFinish(checksumAdd(checksumAdd(0, buf, off, cut), buf, off + cut, len - cut)) !== want) bad++
        }
        for (let len = 0; len < 100; len++) {
            await ds.sleep(0)
            for (let off = 0; off < 4; off++) if (checksumFinish(checksumAdd(0, buf, off, len)) !== plainChecksum(buf, off, len)) bad++
        }
        expect(bad).toBe(0)
    })
})

/** RFC 1071 the slow way: big-endian 16-bit words, an odd last byte padded with zero. */
function plainChecksum(buf: Buffer, off: number, len: number): number {
    let s = 0
    for (let i = 0; i < len; i += 2) s += (buf[off + i] << 8) | (i + 1 < len ? buf[off + i + 1] : 0)
    while (s > 0xffff) s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
}
