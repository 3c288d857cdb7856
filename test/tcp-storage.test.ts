import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { RingBuffer } from "../src/storage/ring-buffer"
import { Assembler } from "../src/storage/assembler"

describe("RingBuffer", () => {
    test("enqueue, peek and dequeue across the wrap", () => {
        const r = new RingBuffer(8)
        expect(r.enqueue(Buffer.from("abcdef"), 0, 6)).toBe(6)
        const out = Buffer.alloc(8)
        expect(r.dequeue(out, 0, 4)).toBe(4)
        expect(out.toString("utf8", 0, 4)).toBe("abcd")
        expect(r.enqueue(Buffer.from("ghijklmn"), 0, 8)).toBe(6) // only 6 free
        expect(r.count).toBe(8)
        expect(r.free()).toBe(0)
        expect(r.peek(out, 0, 3, 5)).toBe(5)
        expect(out.toString("utf8", 0, 5)).toBe("hijkl")
        expect(r.dequeue(out, 0, 8)).toBe(8)
        expect(out.toString()).toBe("efghijkl")
        expect(r.count).toBe(0)
    })

    test("writeAt beyond the end stays invisible until commit", () => {
        const r = new RingBuffer(10)
        r.enqueue(Buffer.from("xxxxxxx"), 0, 7)
        r.discard(7) // head moves near the end
        r.enqueue(Buffer.from("ab"), 0, 2)
        expect(r.writeAt(4, Buffer.from("EF"), 0, 2)).toBe(2)
        expect(r.count).toBe(2)
        expect(r.writeAt(2, Buffer.from("cd"), 0, 2)).toBe(2)
        r.commit(4)
        const out = Buffer.alloc(6)
        expect(r.dequeue(out, 0, 6)).toBe(6)
        expect(out.toString()).toBe("abcdEF")
        expect(r.writeAt(10, Buffer.from("z"), 0, 1)).toBe(0) // past capacity
        expect(r.writeAt(8, Buffer.from("zzz"), 0, 3)).toBe(2) // clipped
    })

    test("behaves like a byte queue (model check)", () => {
        const op = fc.oneof(
            fc.record({ kind: fc.constant("in"), n: fc.integer({ min: 0, max: 20 }) }),
            fc.record({ kind: fc.constant("out"), n: fc.integer({ min: 0, max: 20 }) }),
            fc.record({ kind: fc.constant("peek"), n: fc.integer({ min: 0, max: 20 }), at: fc.integer({ min: 0, max: 20 }) }),
        )
        fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
            const r = new RingBuffer(13)
            const model: number[] = []
            let next = 0
            for (const o of ops as any[]) {
                if (o.kind === "in") {
                    const src = Buffer.alloc(o.n)
                    for (let i = 0; i < o.n; i++) src[i] = (next + i) & 0xff
                    const n = r.enqueue(src, 0, o.n)
                    expect(n).toBe(Math.min(o.n, 13 - model.length))
                    for (let i = 0; i < n; i++) model.push((next + i) & 0xff)
                    next += n
                } else if (o.kind === "out") {
                    const dst = Buffer.alloc(o.n)
                    const n = r.dequeue(dst, 0, o.n)
                    const want = model.splice(0, o.n)
                    expect(n).toBe(want.length)
                    expect([...dst.subarray(0, n)]).toEqual(want)
                } else {
                    const dst = Buffer.alloc(o.n)
                    const n = r.peek(dst, 0, o.at, o.n)
                    const want = model.slice(o.at, o.at + o.n)
                    expect([...dst.subarray(0, n)]).toEqual(want)
                }
                expect(r.count).toBe(model.length)
            }
        }))
    })
})

describe("Assembler", () => {
    test("merges touching and overlapping ranges, pops the front", () => {
        const a = new Assembler(4)
        expect(a.add(10, 5)).toBe(true) // [10,15)
        expect(a.add(20, 5)).toBe(true) // [20,25)
        expect(a.popFront()).toBe(0)
        expect(a.add(15, 5)).toBe(true) // touches both: [10,25)
        expect(a.rangeCount()).toBe(1)
        expect(a.add(0, 10)).toBe(true) // [0,25)
        expect(a.popFront()).toBe(25)
        expect(a.isEmpty()).toBe(true)
    })

    test("refuses a range beyond its bound without changing anything", () => {
        const a = new Assembler(2)
        expect(a.add(10, 1)).toBe(true)
        expect(a.add(20, 1)).toBe(true)
        expect(a.add(30, 1)).toBe(false)
        expect(a.rangeCount()).toBe(2)
        expect(a.add(5, 1)).toBe(false)
        expect(a.add(11, 9)).toBe(true) // bridges the two
        expect(a.rangeCount()).toBe(1)
        expect(a.rangeStart(0)).toBe(10)
        expect(a.rangeEnd(0)).toBe(21)
    })

    test("popFront shifts the remaining ranges", () => {
        const a = new Assembler(4)
        a.add(0, 3)
        a.add(5, 2)
        expect(a.popFront()).toBe(3)
        expect(a.rangeStart(0)).toBe(2)
        expect(a.rangeEnd(0)).toBe(4)
    })

    test("matches a bitmap model", () => {
        const op = fc.record({ off: fc.integer({ min: 0, max: 40 }), len: fc.integer({ min: 1, max: 8 }), pop: fc.boolean() })
        fc.assert(fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
            const a = new Assembler(4)
            let have = new Array(64).fill(false)
            for (const o of ops) {
                const before = have.slice()
                const ok = a.add(o.off, o.len)
                if (ok) for (let i = o.off; i < o.off + o.len; i++) have[i] = true
                // model: count ranges
                let ranges = 0
                for (let i = 0; i < 64; i++) if (have[i] && (i === 0 || !have[i - 1])) ranges++
                if (!ok) {
                    expect(have).toEqual(before)
                    const test = before.slice()
                    for (let i = o.off; i < o.off + o.len; i++) test[i] = true
                    let r2 = 0
                    for (let i = 0; i < 64; i++) if (test[i] && (i === 0 || !test[i - 1])) r2++
                    expect(r2).toBeGreaterThan(4)
                }
                expect(a.rangeCount()).toBe(ranges)
                for (let k = 0; k < a.rangeCount(); k++) {
                    for (let i = a.rangeStart(k); i < a.rangeEnd(k); i++) expect(have[i]).toBe(true)
                    expect(have[a.rangeEnd(k)]).toBe(false)
                }
                if (o.pop) {
                    const n = a.popFront()
                    let m = 0
                    while (have[m]) m++
                    expect(n).toBe(m)
                    have = have.slice(m).concat(new Array(m).fill(false))
                }
            }
        }))
    })
})
