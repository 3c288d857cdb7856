import { describe, expect, test } from "vitest"
import fc from "fast-check"
import {
    Ipv4Repr,
    ipv4Check,
    ipv4Emit,
    ipv4Parse,
    parseIpv4,
    formatIpv4,
    ipv4IsNotHost,
    IPV4_ERR_CHECKSUM,
    IPV4_ERR_HEADER_LEN,
    IPV4_ERR_SHORT,
    IPV4_ERR_TOTAL_LEN,
    IPV4_ERR_VERSION,
    IPV4_OK,
} from "../src/wire/ipv4"
import { checksum, decodeIpv4, ip, ipStr, ipv4Packet } from "./helpers/frames"

const u32 = fc.integer({ min: 0, max: 0xffffffff })
const reprArb = fc.record({
    tos: fc.integer({ min: 0, max: 255 }),
    ident: fc.integer({ min: 0, max: 0xffff }),
    dontFragment: fc.boolean(),
    moreFragments: fc.boolean(),
    fragmentOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8),
    ttl: fc.integer({ min: 0, max: 255 }),
    protocol: fc.integer({ min: 0, max: 255 }),
    src: u32,
    dst: u32,
    headerLen: fc.constant(20),
    payloadLen: fc.integer({ min: 0, max: 1480 }),
})

function toRepr(x: Record<string, number | boolean>): Ipv4Repr {
    return Object.assign(new Ipv4Repr(), x)
}

function goodHeader(payloadLen = 8, options = new Uint8Array(0)): Buffer {
    return ipv4Packet({ src: ip("10.0.0.1"), dst: ip("10.0.0.2"), protocol: 17, id: 7, options }, Buffer.alloc(payloadLen, 0xab))
}

/** Sets a header byte and repairs the checksum, so only the intended field is wrong. */
function setAndFix(b: Buffer, off: number, value: number): Buffer {
    b[off] = value
    const hl = Math.max(20, Math.min((b[0] & 15) * 4, b.length))
    b.writeUInt16BE(0, 10)
    b.writeUInt16BE(checksum(b, 0, hl), 10)
    return b
}

describe("IPv4 header (RFC 791)", () => {
    test("parse(emit(x)) = x, and the bytes decode independently", () => {
        fc.assert(
            fc.property(reprArb, fc.integer({ min: 0, max: 15 }), (x, off) => {
                const b = Buffer.alloc(off + 20 + x.payloadLen)
                expect(ipv4Emit(toRepr(x), b, off)).toBe(20)
                const back = new Ipv4Repr()
                expect(ipv4Parse(b, off, 20 + x.payloadLen, back)).toBe(true)
                expect({ ...back }).toEqual(x)
                const d = decodeIpv4(b.subarray(off))
                expect(d.checksumOk).toBe(true)
                expect(d.totalLen).toBe(20 + x.payloadLen)
                expect(d).toMatchObject({ id: x.ident, df: x.dontFragment, mf: x.moreFragments, fragOffset: x.fragmentOffset, ttl: x.ttl, src: x.src, dst: x.dst })
            }),
        )
    })
    test("parses datagrams with options and trailing link padding", () => {
        const opts = Uint8Array.from([0x94, 0x04, 0, 0, 1, 1, 1, 0]) // router alert + NOPs + EOL
        const d = Buffer.concat([goodHeader(10, opts), Buffer.alloc(6)])
        const r = new Ipv4Repr()
        expect(ipv4Parse(d, 0, d.length, r)).toBe(true)
        expect(r.headerLen).toBe(28)
        expect(r.payloadLen).toBe(10)
    })
    test("rejects truncated headers", () => {
        const b = goodHeader()
        for (let len = 0; len < 20; len++) expect(ipv4Check(b, 0, len)).toBe(IPV4_ERR_SHORT)
    })
    test("rejects versions other than 4", () => {
        for (const v of [0, 1, 5, 6, 15]) expect(ipv4Check(setAndFix(goodHeader(), 0, (v << 4) | 5), 0, 28)).toBe(IPV4_ERR_VERSION)
    })
    test("rejects IHL < 5 and options running past the data", () => {
        for (const ihl of [0, 1, 4]) expect(ipv4Check(setAndFix(goodHeader(), 0, 0x40 | ihl), 0, 28)).toBe(IPV4_ERR_HEADER_LEN)
        expect(ipv4Check(setAndFix(goodHeader(0), 0, 0x46), 0, 20)).toBe(IPV4_ERR_HEADER_LEN)
    })
    test("rejects a total length beyond the data or inside the header", () => {
        const big = goodHeader(8)
        big.writeUInt16BE(29, 2)
        expect(ipv4Check(setAndFix(big, 1, 0), 0, 28)).toBe(IPV4_ERR_TOTAL_LEN)
        const small = goodHeader(8)
        small.writeUInt16BE(19, 2)
        expect(ipv4Check(setAndFix(small, 1, 0), 0, 28)).toBe(IPV4_ERR_TOTAL_LEN)
        const opts = goodHeader(8, new Uint8Array(4))
        opts.writeUInt16BE(22, 2)
        expect(ipv4Check(setAndFix(opts, 1, 0), 0, 32)).toBe(IPV4_ERR_TOTAL_LEN)
    })
    test("rejects any single-bit error in the header (checksum or a field check)", () => {
        const base = goodHeader(8)
        const r = new Ipv4Repr()
        for (let bit = 0; bit < 160; bit++) {
            const b = Buffer.from(base)
            b[bit >> 3] ^= 0x80 >> (bit & 7)
            expect(ipv4Parse(b, 0, b.length, r)).toBe(false)
            expect(ipv4Check(b, 0, b.length)).not.toBe(IPV4_OK)
        }
        // ...and a flip in the header checksum field alone is reported as a checksum error.
        const c = Buffer.from(base)
        c[11] ^= 1
        expect(ipv4Check(c, 0, c.length)).toBe(IPV4_ERR_CHECKSUM)
    })
    test("dotted quads", () => {
        fc.assert(
            fc.property(u32, (a) => {
                expect(formatIpv4(a)).toBe(ipStr(a))
                expect(parseIpv4(ipStr(a))).toBe(a)
            }),
        )
        for (const bad of ["", "1.2.3", "1.2.3.4.5", "1.2.3.256", "1..2.3", "a.b.c.d", "1.2.3.4 ", "1.2.3.0004", "-1.2.3.4"]) expect(parseIpv4(bad)).toBe(-1)
    })
    test("not a host: loopback, multicast and reserved", () => {
        expect(ipv4IsNotHost(ip("224.0.0.1"))).toBe(true)
        expect(ipv4IsNotHost(ip("255.255.255.255"))).toBe(true)
        expect(ipv4IsNotHost(ip("223.255.255.255"))).toBe(false)
        expect(ipv4IsNotHost(ip("10.0.0.1"))).toBe(false)
        expect(ipv4IsNotHost(ip("127.0.0.1"))).toBe(true)
        expect(ipv4IsNotHost(ip("127.255.255.255"))).toBe(true)
        expect(ipv4IsNotHost(ip("126.255.255.255"))).toBe(false)
        expect(ipv4IsNotHost(ip("128.0.0.0"))).toBe(false)
    })
})
