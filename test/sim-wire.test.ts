// The simulator's wire: passt's length-prefixed frame stream, in-memory ports, the link.
import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { FrameStreamDecoder, MAX_STREAM_FRAME, encodeStreamFrame } from "../sim/attach/frame-stream"
import { createPortPair } from "../sim/wire/memory-port"
import { PointToPointLink } from "../sim/wire/link"
import { ChipPort } from "../sim/wire/chip-port"

describe("frame stream (passt's socket format)", () => {
    test("encodes a 4-byte big-endian length then the frame", () => {
        const f = Buffer.from([1, 2, 3, 4, 5])
        expect(encodeStreamFrame(f).toString("hex")).toBe("000000050102030405")
    })

    test("decodes the same frames however the stream is cut into reads", () => {
        const frameArb = fc.uint8Array({ minLength: 1, maxLength: 1600 }).map((a) => Buffer.from(a))
        fc.assert(
            fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 20 }), (frames, cuts) => {
                const stream = Buffer.concat(frames.map(encodeStreamFrame))
                const out: Buffer[] = []
                const d = new FrameStreamDecoder((f) => out.push(Buffer.from(f)))
                let off = 0
                let i = 0
                while (off < stream.length) {
                    const n = cuts[i++ % cuts.length]
                    d.push(stream.subarray(off, off + n))
                    off += n
                }
                expect(out).toEqual(frames)
                expect(d.pendingBytes()).toBe(0)
                expect(d.error).toBeNull()
            }),
        )
    })

    test("holds back a partial frame until its last byte arrives", () => {
        const out: Buffer[] = []
        const d = new FrameStreamDecoder((f) => out.push(f))
        const s = encodeStreamFrame(Buffer.alloc(60, 7))
        d.push(s.subarray(0, 3))
        d.push(s.subarray(3, 63))
        expect(out.length).toBe(0)
        expect(d.pendingBytes()).toBe(63)
        d.push(s.subarray(63))
        expect(out.length).toBe(1)
        expect(out[0].equals(Buffer.alloc(60, 7))).toBe(true)
    })

    test("gives up on a zero or oversized length and ignores what follows", () => {
        for (const len of [0, MAX_STREAM_FRAME + 1]) {
            const out: Buffer[] = []
            const d = new FrameStreamDecoder((f) => out.push(f))
            const head = Buffer.alloc(4)
            head.writeUInt32BE(len)
            d.push(head)
            d.push(encodeStreamFrame(Buffer.from([1, 2, 3])))
            expect(d.error).toMatch(/bad frame length/)
            expect(out.length).toBe(0)
            expect(d.pendingBytes()).toBe(0)
        }
    })
})

describe("memory ports and the point-to-point link", () => {
    test("a port pair delivers copies, asynchronously, in order", async () => {
        const [a, b] = createPortPair()
        const got: Buffer[] = []
        b.onFrame((f) => got.push(f))
        const f = Buffer.from([1, 2, 3])
        a.send(f)
        a.send(Buffer.from([4]))
        expect(got.length).toBe(0)
        f[0] = 99
        await Promise.resolve()
        expect(got).toEqual([Buffer.from([1, 2, 3]), Buffer.from([4])])
    })

    test("a closed port neither sends nor receives", async () => {
        const [a, b] = createPortPair()
        const got: Buffer[] = []
        b.onFrame((f) => got.push(f))
        await b.close()
        a.send(Buffer.from([1]))
        await Promise.resolve()
        expect(got.length).toBe(0)
    })

    test("the link carries frames both ways and shows them to observers", async () => {
        // host0 <-> [p0 link p1] <-> host1
        const [host0, p0] = createPortPair()
        const [p1, host1] = createPortPair()
        const link = new PointToPointLink(p0, p1)
        const seen: string[] = []
        link.observe((f, from) => seen.push(`${from}:${f.toString("hex")}`))
        const at0: Buffer[] = []
        const at1: Buffer[] = []
        host0.onFrame((f) => at0.push(f))
        host1.onFrame((f) => at1.push(f))
        host0.send(Buffer.from([0xa0]))
        host1.send(Buffer.from([0xb1]))
        await new Promise((r) => setTimeout(r, 0))
        expect(at1).toEqual([Buffer.from([0xa0])])
        expect(at0).toEqual([Buffer.from([0xb1])])
        expect(seen).toEqual(["0:a0", "1:b1"])
        expect(link.carried).toEqual([1, 1])
        await link.close()
        host0.send(Buffer.from([0xa2]))
        await new Promise((r) => setTimeout(r, 0))
        expect(at1.length).toBe(1)
    })
})

describe("chip port", () => {
    test("hands wire frames to the chip, counts drops, and copies what the chip sends", () => {
        const accepted: Buffer[] = []
        const chip = {
            accept: true,
            deliverFromWire(f: Buffer): boolean {
                if (this.accept) accepted.push(Buffer.from(f))
                return this.accept
            },
            onWireTransmit: (_f: Buffer) => {},
        }
        const port = new ChipPort(chip)
        const jack: string[] = []
        port.observe((f, outbound) => jack.push(`${outbound ? "out" : "in"}:${f.toString("hex")}`))
        port.send(Buffer.from([1]))
        chip.accept = false
        port.send(Buffer.from([2]))
        expect(accepted).toEqual([Buffer.from([1])])
        expect([port.delivered, port.dropped]).toEqual([1, 1])

        const sent: Buffer[] = []
        port.onFrame((f) => sent.push(f))
        const chipBuffer = Buffer.from([5, 6])
        chip.onWireTransmit(chipBuffer)
        chipBuffer[0] = 0
        expect(sent).toEqual([Buffer.from([5, 6])])
        expect(jack).toEqual(["in:01", "in:02", "out:0506"])
    })
})
