// The driver's two transmit areas (src/driver/enc28j60/tx.ts): frames alternate between
// them, the next frame is written into the idle area while the previous one is on the wire,
// and a late collision (errata 13) or an abort (errata 12) on either area is retried from
// that area with that frame's bytes. The chip model flags any byte of a frame being sent
// that is touched over SPI, and ETXST/ETXND written while TXRTS is set; the rig checks
// that its `violations` list stays empty after every test.
import { describe, expect, test } from "vitest"
import { mulberry32 } from "../sim/enc28j60/prng"
import { PEER, Rig, frame, initRig } from "./helpers/driver-rig"

const AREA_A = 0x140e
const AREA_B = 0x1a0e
const OP_WBM = 0x7a
/** BFS ECON1 (0x80 | 0x1f) with TXRTS (0x08) in its mask: a transmission is started. */
const OP_BFS_ECON1 = 0x9f
const ECON1_TXRTS = 0x08

interface Watch {
    /** ETXST at every start of a transmission (first attempts and retries). */
    starts: number[]
    /** Frame writes (WBM), and those made while the chip was sending another frame. */
    writes: number
    writesWhileSending: number
}

/**
 * Wraps the rig's bus to see every WBM and every TXRTS set as the chip sees it. A frame's
 * WBM is a stream of transfers in one chip-select cycle: only the first carries the opcode.
 */
function watch(rig: Rig): Watch {
    const w: Watch = { starts: [], writes: 0, writesWhileSending: 0 }
    const inner = rig.bus.transfer.bind(rig.bus)
    const select = rig.bus.select.bind(rig.bus)
    let first = false
    rig.bus.select = () => {
        first = true
        select()
    }
    rig.bus.transfer = (buf: Buffer, off: number, len: number) => {
        const op = first ? buf[off] : -1
        first = false
        const start = op === OP_BFS_ECON1 && len === 2 && (buf[off + 1] & ECON1_TXRTS) !== 0
        if (op === OP_WBM) {
            w.writes++
            if (rig.chip.txBusy()) w.writesWhileSending++
        }
        const p = inner(buf, off, len)
        if (start) w.starts.push(rig.chip.peekRegister16(0, 0x04))
        return p
    }
    return w
}

describe("ENC28J60 transmit: two areas", () => {
    test("frames alternate between the areas and the next is written while one is on the wire", async () => {
        const rig = await initRig({}, 20e6)
        const { dev, wire } = rig
        const w = watch(rig)
        const sent: Buffer[] = []
        for (let i = 0; i < 40; i++) {
            const f = frame(60 + ((i * 337) % 1455), i, PEER)
            sent.push(f)
            expect(await dev.transmit(Buffer.from(f), f.length)).toBe(true)
        }
        await dev.flushTx()
        expect(wire.length).toBe(40)
        for (let i = 0; i < 40; i++) expect(wire[i].equals(sent[i])).toBe(true)
        expect(w.starts.length).toBe(40)
        for (let i = 0; i < 40; i++) expect(w.starts[i]).toBe(i % 2 === 0 ? AREA_A : AREA_B)
        // Every frame after the first was written while the one before it was still being sent.
        expect(w.writes).toBe(40)
        expect(w.writesWhileSending).toBe(39)
        expect(dev.counters.txFrames).toBe(40)
    })

    for (const fault of ["late collision", "abort"] as const) {
        for (const area of ["first", "second"] as const) {
            test(`${fault === "abort" ? "an" : "a"} ${fault} in the ${area} area is retried from that area with the right bytes`, async () => {
                const rig = await initRig({ fullDuplex: false })
                const { chip, dev, wire } = rig
                const w = watch(rig)
                const want: Buffer[] = []
                if (area === "second") {
                    // One frame through the first area: the next one goes to the second.
                    const f0 = frame(300, 1, PEER)
                    want.push(f0)
                    await dev.transmit(Buffer.from(f0), f0.length)
                    await dev.flushTx()
                }
                const home = area === "first" ? AREA_A : AREA_B
                const other = area === "first" ? AREA_B : AREA_A
                if (fault === "abort") chip.faults.txAbortNext(1)
                else chip.faults.lateCollisionNext(1)
                const f1 = frame(1514, 2, PEER)
                // f2 differs from f1 in every length and byte: a retry from the wrong area shows.
                const f2 = frame(900, 3, PEER)
                want.push(f1, f2)
                expect(await dev.transmit(Buffer.from(f1), f1.length)).toBe(true)
                // f2 lands in the other area while f1 is on the wire; then f1's failure is
                // collected and f1 started again from its own area before f2 goes.
                expect(await dev.transmit(Buffer.from(f2), f2.length)).toBe(true)
                await dev.flushTx()
                expect(wire.length).toBe(want.length)
                for (let i = 0; i < want.length; i++) expect(wire[i].equals(want[i])).toBe(true)
                const n = w.starts.length
                expect(w.starts.slice(n - 3)).toEqual([home, home, other])
                if (fault === "abort") {
                    expect(dev.counters.txAbortRetries).toBe(1)
                    expect(dev.counters.txLateCollisionRetries).toBe(0)
                } else {
                    expect(chip.stats.lateCollisions).toBe(1)
                    expect(dev.counters.txLateCollisionRetries).toBe(1)
                    expect(dev.counters.txAbortRetries).toBe(0)
                }
                expect(dev.counters.txGiveUps).toBe(0)
                expect(dev.counters.txFrames).toBe(want.length)
            })
        }
    }

    test("random faults on both areas, receives in between: every frame leaves once, in order, intact", async () => {
        const rig = await initRig({ fullDuplex: false }, 20e6)
        const { chip, dev, wire } = rig
        const w = watch(rig)
        const rnd = mulberry32(7)
        const sent: Buffer[] = []
        const buf = Buffer.alloc(1514)
        // One caller buffer for every frame (transmit leaves junk in it): retries come from chip memory.
        const out = Buffer.alloc(1514)
        let received = 0
        for (let i = 0; i < 600; i++) {
            const r = rnd()
            // Faults hit the next transmission started: a first attempt or a retry.
            if (r < 0.05) chip.faults.lateCollisionNext(1)
            else if (r < 0.1) chip.faults.txAbortNext(1)
            const f = frame(14 + Math.floor(rnd() * 1501), 1000 + i, PEER)
            sent.push(f)
            f.copy(out)
            expect(await dev.transmit(out, f.length)).toBe(true)
            const s = rnd()
            if (s < 0.2) {
                const inc = frame(60 + Math.floor(rnd() * 1455), 5000 + i)
                if (chip.deliverFromWire(inc)) {
                    expect(await dev.receive(buf)).toBe(inc.length)
                    expect(buf.subarray(0, inc.length).equals(inc)).toBe(true)
                    received++
                }
            } else if (s < 0.25) await dev.flushTx()
        }
        await dev.flushTx()
        expect(received).toBeGreaterThan(50)
        expect(wire.length).toBe(sent.length)
        for (let i = 0; i < sent.length; i++) {
            // The chip pads short frames to 60 bytes with zeros.
            const f = sent[i]
            expect(wire[i].subarray(0, f.length).equals(f)).toBe(true)
        }
        const c = dev.counters
        expect(c.txLateCollisionRetries + c.txAbortRetries).toBeGreaterThan(30)
        expect(c.txGiveUps).toBe(0)
        expect(w.writesWhileSending).toBeGreaterThan(300)
        // First attempts alternate; a retry repeats the area of the attempt before it.
        let expected = AREA_A
        let prev = -1
        let firsts = 0
        for (const st of w.starts) {
            if (st === prev) continue // a retry
            expect(st).toBe(expected)
            expected = expected === AREA_A ? AREA_B : AREA_A
            prev = st
            firsts++
        }
        expect(firsts).toBe(sent.length)
    })

    test("the caller's buffer is overwritten by transmit; a late-collided frame is retried intact after the caller reused it", async () => {
        const rig = await initRig({ fullDuplex: false })
        const { chip, dev, wire } = rig
        const f1 = frame(1514, 21, PEER)
        const f2 = frame(700, 22, PEER)
        // f1 collides late twice: its retries run inside the next transmit, after the caller
        // has put f2 into the same buffer, and at the flush, after the caller scribbled on it.
        chip.faults.lateCollisionNext(2)
        const buf = Buffer.from(f1)
        expect(await dev.transmit(buf, f1.length)).toBe(true)
        expect(buf.equals(f1)).toBe(false) // MISO junk now (NetDevice.transmit)
        buf.fill(0)
        f2.copy(buf)
        expect(await dev.transmit(buf, f2.length)).toBe(true)
        expect(buf.subarray(0, f2.length).equals(f2)).toBe(false)
        buf.fill(0x33)
        await dev.flushTx()
        expect(chip.stats.lateCollisions).toBe(2)
        expect(dev.counters.txLateCollisionRetries).toBe(2)
        expect(dev.counters.txGiveUps).toBe(0)
        expect(wire.length).toBe(2)
        expect(wire[0].equals(f1)).toBe(true)
        expect(wire[1].equals(f2)).toBe(true)
    })

    for (const where of ["linkUp", "receive"] as const) {
        test(`a bus error in ${where}() while a frame is on the wire: the next frame goes to the other area`, async () => {
            const rig = await initRig({}, 20e6)
            const { dev, chip, wire } = rig
            const f1 = frame(1514, 3, PEER)
            const f2 = frame(1514, 5, PEER)
            expect(await dev.transmit(Buffer.from(f1), f1.length)).toBe(true)
            expect(chip.txBusy()).toBe(true)
            // One SPI transfer fails in the next call, which has nothing to do with transmit.
            const inner = rig.bus.transfer.bind(rig.bus)
            let failures = 1
            rig.bus.transfer = (buf: Buffer, off: number, len: number) =>
                failures-- > 0 ? Promise.reject(new Error("bus glitch")) : inner(buf, off, len)
            if (where === "linkUp") await dev.linkUp()
            else await dev.receive(Buffer.alloc(1600))
            expect(dev.counters.busErrors).toBe(1)
            expect(chip.txBusy()).toBe(true)
            // f1 is still being sent from the first area: f2 must not be written over it.
            expect(await dev.transmit(Buffer.from(f2), f2.length)).toBe(true)
            await dev.flushTx()
            expect(wire.length).toBe(2)
            expect(wire[0].equals(f1)).toBe(true)
            expect(wire[1].equals(f2)).toBe(true)
            // (the rig checks afterwards that the chip saw no byte of f1 written while it was sent)
        })
    }
})
