import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqSub } from "../src/tcp/seq"
import { halfSipHash } from "../src/tcp/halfsiphash"
import { IsnGenerator, isnClock } from "../src/tcp/isn"
import { SynCookies, COOKIE_PERIOD_MS } from "../src/tcp/syn-cookies"
import { errorName, SocketError, ECONNRESET, RECV_EOF } from "../src/tcp/errors"

describe("sequence arithmetic mod 2^32", () => {
    test("wraps", () => {
        expect(seqAdd(0xffffffff, 1)).toBe(0)
        expect(seqAdd(0xfffffff0, 0x20)).toBe(0x10)
        expect(seqAdd(5, -6)).toBe(0xffffffff)
        expect(seqSub(0x10, 0xfffffff0)).toBe(0x20)
        expect(seqSub(0xfffffff0, 0x10)).toBe(-0x20)
        expect(seqLt(0xfffffff0, 0x10)).toBe(true)
        expect(seqGt(0x10, 0xfffffff0)).toBe(true)
        expect(seqLe(7, 7)).toBe(true)
        expect(seqGe(7, 8)).toBe(false)
        expect(seqMax(0xfffffff0, 3)).toBe(3)
        expect(seqInRange(0xffffffff, 0xfffffffe, 2)).toBe(true)
        expect(seqInRange(2, 0xfffffffe, 2)).toBe(false)
    })
    test("comparisons agree with offsets below 2^31", () => {
        fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 0x7fffffff }), (a, d) => {
            const b = seqAdd(a, d)
            expect(seqLt(a, b)).toBe(true)
            expect(seqGt(b, a)).toBe(true)
            expect(seqSub(b, a)).toBe(d)
            expect(seqLe(a, a) && seqGe(a, a)).toBe(true)
        }))
    })
})

describe("HalfSipHash-2-4", () => {
    // Reference vectors (SipHash repository, vectors_hsip32) for key bytes 00..07 and
    // messages 00 01 02 ... of length 0, 4, 8, 12.
    const K0 = 0x03020100
    const K1 = 0x07060504
    test("matches the reference test vectors", () => {
        expect(halfSipHash(K0, K1, 0, 0, 0, 0, 0)).toBe(0x5b9f35a9)
        expect(halfSipHash(K0, K1, 0x03020100, 0, 0, 0, 1)).toBe(0x89466e2a)
        expect(halfSipHash(K0, K1, 0x03020100, 0x07060504, 0, 0, 2)).toBe(0x8f84b8d0)
        expect(halfSipHash(K0, K1, 0x03020100, 0x07060504, 0x0b0a0908, 0, 3)).toBe(0x2f87f057)
    })
})

describe("ISN (RFC 6528)", () => {
    test("M ticks every 4 microseconds", () => {
        expect(isnClock(0)).toBe(0)
        expect(isnClock(1)).toBe(250)
        expect(isnClock(4294967296 / 250)).toBe(0)
    })
    test("advances with time and differs per 4-tuple and per secret", () => {
        const g = new IsnGenerator(1, 9)
        const a = g.isn(1, 80, 2, 5000, 1000)
        expect(seqSub(g.isn(1, 80, 2, 5000, 2000), a)).toBe(250000)
        expect(g.isn(1, 80, 2, 5001, 1000)).not.toBe(a)
        expect(g.isn(1, 81, 2, 5000, 1000)).not.toBe(a)
        expect(new IsnGenerator(2, 9).isn(1, 80, 2, 5000, 1000)).not.toBe(a)
    })
    test("the key takes a word from each of the two seeds (not one 31-bit seed to search)", () => {
        const a = new IsnGenerator(1, 9).isn(1, 80, 2, 5000, 1000)
        expect(new IsnGenerator(1, 10).isn(1, 80, 2, 5000, 1000)).not.toBe(a)
        // Swapping the words gives another key too.
        expect(new IsnGenerator(9, 1).isn(1, 80, 2, 5000, 1000)).not.toBe(a)
    })
})

describe("SYN cookies", () => {
    const c = new SynCookies(77, 78)
    test("a cookie validates for its 4-tuple and peer ISN, and encodes the MSS", () => {
        const now = 5 * COOKIE_PERIOD_MS + 10
        const ck = c.make(1, 80, 2, 5000, 123456, 1460, now)
        expect(c.check(1, 80, 2, 5000, 123456, ck, now)).toBe(1460)
        expect(c.check(1, 80, 2, 5000, 123456, ck, now + COOKIE_PERIOD_MS)).toBe(1460)
        expect(c.check(1, 80, 2, 5000, 123456, ck, now + 2 * COOKIE_PERIOD_MS)).toBe(0) // too old
        expect(c.check(1, 80, 2, 5001, 123456, ck, now)).toBe(0)
        expect(c.check(1, 80, 3, 5000, 123456, ck, now)).toBe(0)
        expect(c.check(1, 80, 2, 5000, 123457, ck, now)).toBe(0)
        expect(c.check(1, 80, 2, 5000, 123456, (ck ^ 1) >>> 0, now)).toBe(0)
        expect(c.check(1, 80, 2, 5000, 123456, (ck ^ (1 << 25)) >>> 0, now)).toBe(0) // MSS bits are covered
        expect(c.check(1, 80, 2, 5000, 0, c.make(1, 80, 2, 5000, 0, 0, now), now)).toBe(536)
        expect(c.check(1, 80, 2, 5000, 0, c.make(1, 80, 2, 5000, 0, 1300, now), now)).toBe(1220)
    })
    test("a cookie made under one second seed does not check under another", () => {
        const now = 5 * COOKIE_PERIOD_MS
        const ck = c.make(1, 80, 2, 5000, 123456, 1460, now)
        expect(new SynCookies(77, 79).check(1, 80, 2, 5000, 123456, ck, now)).toBe(0)
    })
    test("the MAC covers the full period count: a cookie does not come back 32 periods later", () => {
        const now = 5 * COOKIE_PERIOD_MS + 10
        const ck = c.make(1, 80, 2, 5000, 123456, 1460, now)
        // Same 5-bit period field, 32 periods (34 minutes) later.
        expect(c.check(1, 80, 2, 5000, 123456, ck, now + 32 * COOKIE_PERIOD_MS)).toBe(0)
        expect(c.check(1, 80, 2, 5000, 123456, ck, now + 33 * COOKIE_PERIOD_MS)).toBe(0)
        // Across the wrap of the 5-bit field the previous period still counts.
        const late = 31 * COOKIE_PERIOD_MS + 5
        expect(c.check(1, 80, 2, 5000, 7, c.make(1, 80, 2, 5000, 7, 536, late), late + COOKIE_PERIOD_MS)).toBe(536)
    })
    test("guessing is hopeless: random cookies fail", () => {
        let ok = 0
        fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (g) => {
            if (c.check(1, 80, 2, 5000, 99, g >>> 0, 1000) !== 0) ok++
        }), { numRuns: 2000 })
        expect(ok).toBeLessThan(2)
    })
})

describe("errors", () => {
    test("codes and SocketError", () => {
        expect(errorName(-ECONNRESET)).toBe("ECONNRESET")
        const e = new SocketError(-ECONNRESET)
        expect(e).toBeInstanceOf(Error)
        expect(e.code).toBe(ECONNRESET)
        expect(e.message).toBe("ECONNRESET")
        expect(RECV_EOF).toBe(-1)
    })
})
