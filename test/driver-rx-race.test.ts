// The ERXWRPT race in rx.ts's ring repair (recover()): ERXWRPT is read a byte at a time,
// low byte first, while the chip may be storing a frame. A frame that lands between the two
// reads and carries the write pointer across a 256-byte boundary yields a torn value (new
// high byte, old low byte). Here the torn value lies just past the damaged packet's start,
// so it claims the chip has written less than that packet: a driver that trusts one read
// resets the whole ring and loses every frame in it; reading until two reads agree repairs
// the one bad next pointer and keeps the rest.
import { describe, expect, test } from "vitest"
import { Rig, frame, initRig } from "./helpers/driver-rig"

/** RCR of address 0x0E: ERXWRPTL while bank 0 is selected. */
const RCR_ERXWRPTL = 0x00 | 0x0e

/** Ring bytes a stored packet takes: header, frame + FCS, pad to even (frames >= 60 bytes). */
function footprint(len: number): number {
    const n = 6 + len + 4
    return n + (n & 1)
}

/** After the next RCR of ERXWRPTL completes (before the high byte is read), `f` arrives from the wire. */
function deliverBetweenErxwrptReads(rig: Rig, f: Buffer): { fired: boolean } {
    const { bus, chip } = rig
    const state = { fired: false }
    const real = bus.transfer.bind(bus)
    bus.transfer = async (b: Buffer, o: number, l: number) => {
        const op = b[o]
        await real(b, o, l)
        if (!state.fired && l === 2 && op === RCR_ERXWRPTL) {
            state.fired = true
            expect(chip.deliverFromWire(f)).toBe(true)
        }
    }
    return state
}

describe("ENC28J60 ring repair vs a frame landing between the ERXWRPT byte reads", () => {
    test("the torn write pointer is not believed: one bad packet skipped, every later frame kept", async () => {
        const rig = await initRig() // ring 0x0000..0x140D (5,134 bytes)
        const { chip, dev } = rig
        const buf = Buffer.alloc(1514)

        // Move the read position to 0x01A0: the damaged packet will start there.
        expect(chip.deliverFromWire(frame(406, 1))).toBe(true)
        expect(await dev.receive(buf)).toBe(406)
        expect(footprint(406)).toBe(0x1a0)

        // The damaged packet (next pointer outside the ring), then frames up to ERXWRPT 0x13F0.
        chip.faults.corruptNextPointerOnce()
        expect(chip.deliverFromWire(frame(200, 2))).toBe(true)
        const kept = [frame(1390, 3), frame(1390, 4), frame(1390, 5), frame(268, 6)]
        for (const f of kept) expect(chip.deliverFromWire(f)).toBe(true)
        expect(chip.rxWritePointer()).toBe(0x13f0)

        // The racing frame wraps the write pointer from 0x13F0 to 0x0150: read low byte first,
        // ERXWRPT tears to 0x01F0, 80 bytes past the damaged packet's start; it is 210 bytes long.
        const racer = frame(356, 7)
        expect(0x13f0 + footprint(racer.length) - 0x140e).toBe(0x150)
        const hook = deliverBetweenErxwrptReads(rig, racer)
        kept.push(racer)

        const got: Buffer[] = []
        for (let i = 0; i < 20 && got.length < kept.length; i++) {
            const n = await dev.receive(buf)
            if (n > 0) got.push(Buffer.from(buf.subarray(0, n)))
        }
        expect(hook.fired).toBe(true)
        const c = dev.counters
        expect(c.rxResets, "the ring was reset: the torn ERXWRPT was believed").toBe(0)
        expect(c.rxBadHeaders).toBe(1)
        expect(c.rxNextPtrRepairs).toBe(1)
        expect(chip.rxWritePointer()).toBe(0x150)
        expect(got.length).toBe(kept.length)
        for (let i = 0; i < kept.length; i++) expect(got[i].equals(kept[i]), `frame ${i}`).toBe(true)
    })
})
