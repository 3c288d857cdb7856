// The ENC28J60 driver on the register-level chip model, on a virtual clock: the rig the
// driver suites share. Every rig made is checked after each test: the model must have seen
// no datasheet or errata rule broken.
import { afterEach, expect } from "vitest"
import { VirtualClock } from "../../sim/clock"
import { Enc28j60Chip } from "../../sim/enc28j60/chip"
import { ChipSpiBus } from "../../sim/enc28j60/spi-bus"
import { mulberry32 } from "../../sim/enc28j60/prng"
import { Enc28j60, Enc28j60Options } from "../../src/driver/enc28j60/enc28j60"

export const MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02]
export const PEER = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01]

export interface Rig {
    clock: VirtualClock
    chip: Enc28j60Chip
    bus: ChipSpiBus
    dev: Enc28j60
    /** Copies of the frames the chip put on the wire. */
    wire: Buffer[]
}

const rigs: Rig[] = []

afterEach(() => {
    for (const r of rigs) expect(r.chip.violations).toEqual([])
    rigs.length = 0
})

/** A chip, its bus and a driver, not yet initialised. */
export function makeRig(opts: Partial<Enc28j60Options> = {}, sckHz = 8e6): Rig {
    const clock = new VirtualClock()
    const chip = new Enc28j60Chip({ clock, sckHz })
    const bus = new ChipSpiBus(chip)
    const timing = {
        nowMs: () => clock.nowUs() / 1000,
        delayMs: async (ms: number) => clock.advanceUs(ms * 1000),
    }
    const dev = new Enc28j60(bus, timing, { mac: MAC, ...opts })
    const wire: Buffer[] = []
    chip.onWireTransmit = (f) => wire.push(Buffer.from(f))
    const rig = { clock, chip, bus, dev, wire }
    rigs.push(rig)
    return rig
}

/** A rig with the driver brought up. */
export async function initRig(opts: Partial<Enc28j60Options> = {}, sckHz = 8e6): Promise<Rig> {
    const rig = makeRig(opts, sckHz)
    // The oscillator start-up timer (300 us after power-on) runs before the host talks.
    rig.clock.advanceUs(1000)
    await rig.dev.init()
    return rig
}

/** A frame to dst (default: us) of len bytes with a recognisable payload. */
export function frame(len: number, seed: number, dst: number[] = MAC): Buffer {
    const f = Buffer.alloc(len)
    for (let i = 0; i < 6; i++) f[i] = dst[i]
    for (let i = 0; i < 6; i++) f[6 + i] = PEER[i]
    f[12] = 0x88 // a local EtherType: no length-field check applies
    f[13] = 0xb5
    const rnd = mulberry32(seed)
    for (let i = 14; i < len; i++) f[i] = Math.floor(rnd() * 256)
    return f
}
