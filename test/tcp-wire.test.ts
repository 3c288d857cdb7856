import { describe, expect, test } from "vitest"
import fc from "fast-check"
import {
    emitTcp, fillTcpChecksum, parseTcp, tcpChecksum, TcpRepr, tcpHeaderLen,
    TCP_ERR_CHECKSUM, TCP_ERR_DATA_OFFSET, TCP_ERR_OPTION, TCP_ERR_TRUNCATED, TCP_OK, TCP_SYN, TCP_ACK,
} from "../src/wire/tcp"

const SRC = 0xc0a80001
const DST = 0xc0a800c7

function build(r: TcpRepr, payload: Buffer): Buffer {
    const h = tcpHeaderLen(r)
    const b = Buffer.alloc(h + payload.length)
    emitTcp(r, b, 0)
    payload.copy(b, h)
    fillTcpChecksum(b, 0, b.length, SRC, DST)
    return b
}

function reprFrom(o: any): TcpRepr {
    const r = new TcpRepr()
    Object.assign(r, o)
    return r
}

describe("TCP header parse/emit", () => {
    test("a known SYN with MSS parses field by field", () => {
        // 0x3039 -> 0x0050, seq 1, ack 0, offset 6 words, SYN, window 0x7210, MSS 1460
        const hex = "30390050" + "00000001" + "00000000" + "6002" + "7210" + "0000" + "0000" + "020405b4"
        const b = Buffer.from(hex, "hex")
        fillTcpChecksum(b, 0, b.length, SRC, DST)
        const r = new TcpRepr()
        expect(parseTcp(b, 0, b.length, SRC, DST, r, true)).toBe(TCP_OK)
        expect(r.srcPort).toBe(12345)
        expect(r.dstPort).toBe(80)
        expect(r.seq).toBe(1)
        expect(r.flags).toBe(TCP_SYN)
        expect(r.window).toBe(0x7210)
        expect(r.mss).toBe(1460)
        expect(r.payloadLen).toBe(0)
        expect(r.segLen()).toBe(1)
    })

    test("parse(emit(x)) = x for every field and option combination", () => {
        const arb = fc.record({
            srcPort: fc.integer({ min: 0, max: 65535 }),
            dstPort: fc.integer({ min: 0, max: 65535 }),
            seq: fc.integer({ min: 0, max: 0xffffffff }),
            ack: fc.integer({ min: 0, max: 0xffffffff }),
            flags: fc.integer({ min: 0, max: 255 }),
            window: fc.integer({ min: 0, max: 65535 }),
            urgent: fc.integer({ min: 0, max: 65535 }),
            mss: fc.integer({ min: 0, max: 65535 }),
            windowScale: fc.integer({ min: -1, max: 14 }),
            sackPermitted: fc.boolean(),
            hasTimestamps: fc.boolean(),
            tsVal: fc.integer({ min: 0, max: 0xffffffff }),
            tsEcr: fc.integer({ min: 0, max: 0xffffffff }),
        })
        fc.assert(fc.property(arb, fc.uint8Array({ maxLength: 64 }), (o, pay) => {
            if (!o.hasTimestamps) {
                o.tsVal = 0
                o.tsEcr = 0
            }
            const x = reprFrom(o)
            const b = build(x, Buffer.from(pay))
            const y = new TcpRepr()
            expect(parseTcp(b, 0, b.length, SRC, DST, y, true)).toBe(TCP_OK)
            for (const k of Object.keys(o)) expect((y as any)[k]).toBe((o as any)[k])
            expect(y.payloadLen).toBe(pay.length)
            expect(Buffer.compare(b.subarray(y.payloadOff, y.payloadOff + y.payloadLen), Buffer.from(pay))).toBe(0)
        }))
    })

    test("checksum covers the pseudo-header and every byte", () => {
        const b = build(reprFrom({ srcPort: 1, dstPort: 2, seq: 3, flags: TCP_ACK, window: 100 }), Buffer.from("hello"))
        expect(tcpChecksum(b, 0, b.length, SRC, DST)).toBe(0)
        const r = new TcpRepr()
        expect(parseTcp(b, 0, b.length, SRC, DST + 1, r, true)).toBe(TCP_ERR_CHECKSUM)
        // Any single flipped bit is caught (by the checksum, or first by a structural check).
        for (let i = 0; i < b.length; i++) {
            for (let bit = 0; bit < 8; bit++) {
                const c = Buffer.from(b)
                c[i] ^= 1 << bit
                expect(parseTcp(c, 0, c.length, SRC, DST, r, true)).not.toBe(TCP_OK)
            }
        }
    })

    test("malformed headers are rejected", () => {
        const r = new TcpRepr()
        const ok = build(reprFrom({ srcPort: 1, dstPort: 2, mss: 1460 }), Buffer.alloc(0))
        expect(parseTcp(ok, 0, 19, SRC, DST, r, false)).toBe(TCP_ERR_TRUNCATED)
        const small = Buffer.from(ok)
        small[12] = 4 << 4 // data offset below 5 words
        expect(parseTcp(small, 0, small.length, SRC, DST, r, false)).toBe(TCP_ERR_DATA_OFFSET)
        const big = Buffer.from(ok)
        big[12] = 7 << 4 // data offset past the end
        expect(parseTcp(big, 0, big.length, SRC, DST, r, false)).toBe(TCP_ERR_DATA_OFFSET)
        const badLen = Buffer.from(ok)
        badLen[21] = 3 // MSS option with length 3
        expect(parseTcp(badLen, 0, badLen.length, SRC, DST, r, false)).toBe(TCP_ERR_OPTION)
        const zeroLen = Buffer.from(ok)
        zeroLen[20] = 30 // unknown kind
        zeroLen[21] = 0 // length below 2
        expect(parseTcp(zeroLen, 0, zeroLen.length, SRC, DST, r, false)).toBe(TCP_ERR_OPTION)
        const overrun = Buffer.from(ok)
        overrun[20] = 30
        overrun[21] = 9 // past the header end
        expect(parseTcp(overrun, 0, overrun.length, SRC, DST, r, false)).toBe(TCP_ERR_OPTION)
        const unknown = Buffer.from(ok)
        unknown[20] = 30
        unknown[21] = 4 // unknown but well-formed: skipped
        expect(parseTcp(unknown, 0, unknown.length, SRC, DST, r, false)).toBe(TCP_OK)
        expect(r.mss).toBe(0)
    })

    test("random bytes never throw", () => {
        fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (a) => {
            const r = new TcpRepr()
            const b = Buffer.from(a)
            const res = parseTcp(b, 0, b.length, SRC, DST, r, false)
            if (res === TCP_OK) {
                expect(r.payloadOff + r.payloadLen).toBe(b.length)
            }
        }))
    })
})
