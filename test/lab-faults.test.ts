// The fault stages themselves (sim/wire/faults.ts), on virtual time with plain recording
// ports: each fault does what it says, at about the rate asked, reproducibly for a seed.
import { afterEach, describe, expect, test } from "vitest"
import { VirtualScheduler } from "../sim/scheduler"
import { Enc28j60Chip } from "../sim/enc28j60/chip"
import { ChipPort } from "../sim/wire/chip-port"
import { ChipFcsPort, FaultOptions, FaultStage, FaultyLink, FaultyPort, FcsPort, virtualWireTimer, wireBytes } from "../sim/wire/faults"
import { FrameHandler } from "../sim/wire/frame-port"
import { internetChecksum } from "../src/util/checksum"

/** Records what reaches it (and when, on the scheduler's clock). */
class Recorder implements FcsPort {
    got: { frame: Buffer; atMs: number; badFcs: boolean }[] = []
    handler: FrameHandler = null
    constructor(private readonly sched: VirtualScheduler) {}
    send(frame: Buffer): void {
        this.got.push({ frame, atMs: this.sched.nowMs(), badFcs: false })
    }
    sendWithBadFcs(frame: Buffer): void {
        this.got.push({ frame, atMs: this.sched.nowMs(), badFcs: true })
    }
    onFrame(handler: FrameHandler): void {
        this.handler = handler
    }
    async close(): Promise<void> {}
}

/** A numbered IPv4/UDP-ish frame of `len` bytes: seq in bytes 34..37, valid IP header checksum. */
function frame(seq: number, len = 100): Buffer {
    const f = Buffer.alloc(len)
    f.fill(0xaa, 0, 6)
    f.fill(0xbb, 6, 12)
    f.writeUInt16BE(0x0800, 12)
    f[14] = 0x45
    f.writeUInt16BE(len - 14, 16)
    f[22] = 64
    f[23] = 17
    f.writeUInt32BE(0x0a000001, 26)
    f.writeUInt32BE(0x0a000002, 30)
    f.writeUInt16BE(internetChecksum(f, 14, 20) ^ 0, 24)
    f.writeUInt32BE(seq, 34)
    return f
}

let sched: VirtualScheduler = null
afterEach(() => {
    sched?.halt()
    sched = null
})

/** Pushes n frames, 1 ms apart, through a stage; returns what arrived once everything drained. */
async function run(opts: FaultOptions, n: number, len = 100): Promise<{ rec: Recorder; stage: FaultStage }> {
    sched = new VirtualScheduler()
    const rec = new Recorder(sched)
    const stage = new FaultStage(rec, { ...opts, timer: virtualWireTimer(sched) })
    for (let i = 0; i < n; i++) {
        stage.push(frame(i, len))
        await sched.sleep(1)
    }
    await sched.sleep(1000)
    return { rec, stage }
}

const seqs = (rec: Recorder) => rec.got.map((g) => g.frame.readUInt32BE(34))

describe("FaultStage", () => {
    test("no faults: everything arrives once, in order, after the delay", async () => {
        const { rec } = await run({ delayMs: 3 }, 50)
        expect(seqs(rec)).toEqual([...Array(50).keys()])
        expect(rec.got[0].atMs).toBeCloseTo(3, 3)
    })

    test("loss drops about the asked fraction, and the same seed drops the same frames", async () => {
        const a = await run({ loss: 0.2, seed: 5 }, 2000)
        const lost = 2000 - a.rec.got.length
        expect(a.stage.stats.lost).toBe(lost)
        expect(lost).toBeGreaterThan(300)
        expect(lost).toBeLessThan(500)
        const first = seqs(a.rec)
        const b = await run({ loss: 0.2, seed: 5 }, 2000)
        expect(seqs(b.rec)).toEqual(first)
        const c = await run({ loss: 0.2, seed: 6 }, 2000)
        expect(seqs(c.rec)).not.toEqual(first)
    })

    test("duplication delivers some frames twice, back to back", async () => {
        const { rec, stage } = await run({ dup: 0.1, seed: 2 }, 1000)
        expect(stage.stats.duplicated).toBeGreaterThan(50)
        expect(rec.got.length).toBe(1000 + stage.stats.duplicated)
        const s = seqs(rec)
        for (let i = 1; i < s.length; i++) expect(s[i] === s[i - 1] || s[i] === s[i - 1] + 1).toBe(true)
    })

    test("reordering holds a frame back behind at most `reorderWindow` later frames, and loses nothing", async () => {
        sched = new VirtualScheduler()
        const rec = new Recorder(sched)
        const stage = new FaultStage(rec, { reorder: 0.1, reorderWindow: 3, reorderMaxHoldMs: 50, seed: 3, timer: virtualWireTimer(sched) })
        // Back-to-back bursts, so held frames are released by later ones, not by the timeout.
        for (let i = 0; i < 1000; i++) {
            stage.push(frame(i))
            if (i % 10 === 9) await sched.sleep(1)
        }
        await sched.sleep(1000)
        const s = seqs(rec)
        expect([...s].sort((x, y) => x - y)).toEqual([...Array(1000).keys()])
        expect(stage.stats.reordered).toBeGreaterThan(50)
        let displaced = 0
        for (let pos = 0; pos < s.length; pos++) {
            const late = pos - s[pos]
            expect(late).toBeLessThanOrEqual(3)
            if (late > 0) displaced++
        }
        expect(displaced).toBeGreaterThan(0)
    })

    test("jitter varies the delay but never reorders", async () => {
        const { rec } = await run({ delayMs: 2, jitterMs: 10, seed: 4 }, 300)
        expect(seqs(rec)).toEqual([...Array(300).keys()])
        const delays = rec.got.map((g, i) => g.atMs - i)
        expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(3)
    })

    test("10 Mbit/s: back-to-back full frames leave (8 + 1514 + 4 + 12) × 0.8 µs apart", async () => {
        sched = new VirtualScheduler()
        const rec = new Recorder(sched)
        const stage = new FaultStage(rec, { rateBps: 10e6, timer: virtualWireTimer(sched) })
        for (let i = 0; i < 100; i++) stage.push(frame(i, 1514))
        await sched.sleep(1000)
        expect(wireBytes(1514)).toBe(1538)
        expect(wireBytes(42)).toBe(84) // padded to 60
        expect(rec.got.length).toBe(100)
        // (virtual time has microsecond resolution)
        expect(rec.got[99].atMs).toBeCloseTo(100 * 1538 * 0.0008, 2)
        expect(rec.got[1].atMs - rec.got[0].atMs).toBeCloseTo(1.2304, 2)
    })

    test("corruption above the FCS flips exactly one bit inside the IP datagram, and an IP header flip breaks the header checksum", async () => {
        const { rec, stage } = await run({ corruptPayload: 1, seed: 8 }, 200)
        expect(stage.stats.corruptedPayload).toBe(200)
        expect(rec.got.length).toBe(200)
        rec.got.forEach((g, i) => {
            // No reordering: the i-th frame out is frame(i) with one bit flipped.
            const orig = frame(i)
            expect(g.badFcs).toBe(false)
            let bits = 0
            let where = -1
            for (let k = 0; k < orig.length; k++) {
                for (let x = orig[k] ^ g.frame[k]; x; x &= x - 1) bits++
                if (orig[k] !== g.frame[k]) where = k
            }
            expect(bits).toBe(1)
            expect(where).toBeGreaterThanOrEqual(14) // the Ethernet header is untouched
            expect(where).toBeLessThan(14 + orig.readUInt16BE(16))
            // A flip in the IP header breaks its checksum; one in the UDP part would break the UDP sum.
            if (where < 34) expect(internetChecksum(g.frame, 14, 20)).not.toBe(0)
        })
    })

    test("corruption on the wire hands the frame on with a bad FCS", async () => {
        const { rec, stage } = await run({ corruptWire: 0.5, seed: 9 }, 200)
        const bad = rec.got.filter((g) => g.badFcs).length
        expect(bad).toBe(stage.stats.corruptedWire)
        expect(bad).toBeGreaterThan(60)
    })

    test("a cut cable loses everything until it is mended (or the cut time ends)", async () => {
        sched = new VirtualScheduler()
        const rec = new Recorder(sched)
        const stage = new FaultStage(rec, { timer: virtualWireTimer(sched) })
        stage.cut(100)
        for (let i = 0; i < 200; i++) {
            stage.push(frame(i))
            await sched.sleep(1)
        }
        await sched.sleep(10)
        expect(stage.stats.cut).toBeGreaterThanOrEqual(99)
        expect(stage.stats.cut).toBeLessThanOrEqual(101)
        stage.cut()
        stage.push(frame(1000))
        await sched.sleep(10)
        stage.mend()
        stage.push(frame(1001))
        await sched.sleep(10)
        const s = seqs(rec)
        expect(s).not.toContain(1000)
        expect(s[s.length - 1]).toBe(1001)
    })
})

describe("bad FCS into the chip model", () => {
    test("a bad-FCS frame the chip refuses before its MAC (receiver off) leaves no armed fault for the next frame", () => {
        const chip = new Enc28j60Chip()
        const port = new ChipFcsPort(new ChipPort(chip), chip)
        // The receiver is off: the frame is refused before the MAC, and the fault flag is cleared anyway.
        port.sendWithBadFcs(frame(1))
        expect(chip.faults.crcErrorNext).toBe(false)
        expect(chip.stats.rxCrcErrors).toBe(0)
    })
})

describe("FaultyPort and FaultyLink", () => {
    test("FaultyPort faults only what goes into the wrapped port, unless bothWays", async () => {
        sched = new VirtualScheduler()
        const inner = new Recorder(sched)
        const p = new FaultyPort(inner, { loss: 1, timer: virtualWireTimer(sched) })
        const out: Buffer[] = []
        p.onFrame((f) => out.push(f))
        p.send(frame(1))
        inner.handler(frame(2))
        await sched.sleep(10)
        expect(inner.got.length).toBe(0)
        expect(out.length).toBe(1)
        const q = new FaultyPort(new Recorder(sched), { loss: 1, bothWays: true, timer: virtualWireTimer(sched) })
        const out2: Buffer[] = []
        q.onFrame((f) => out2.push(f))
        ;(q.inner as Recorder).handler(frame(3))
        await sched.sleep(10)
        expect(out2.length).toBe(0)
        expect(q.fromInner.stats.lost).toBe(1)
    })

    test("FaultyLink carries both ways with independent streams", async () => {
        sched = new VirtualScheduler()
        const a = new Recorder(sched)
        const b = new Recorder(sched)
        const link = new FaultyLink(a, b, { loss: 0.3, seed: 7, timer: virtualWireTimer(sched) })
        for (let i = 0; i < 500; i++) {
            a.handler(frame(i))
            b.handler(frame(i))
        }
        await sched.sleep(100)
        expect(b.got.length + link.stages[0].stats.lost).toBe(500)
        expect(a.got.length + link.stages[1].stats.lost).toBe(500)
        expect(seqs(a)).not.toEqual(seqs(b))
        expect(link.totals().offered).toBe(1000)
    })
})
