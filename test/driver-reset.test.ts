// The ENC28J60 driver survives the chip resetting underneath it (brown-out, a glitch on
// RESET, a re-plugged module): it notices within a second, brings the chip up again and
// frames flow both ways; a chip that does not answer at all is retried ever less often.
// The rig checks after each test that the model saw no datasheet or errata rule broken.
import { describe, expect, test } from "vitest"
import { Reg } from "../src/driver/enc28j60/registers"
import { MAMXFL_LOW } from "../src/driver/enc28j60/spi-commands"
import { MAC, PEER, Rig, frame, initRig } from "./helpers/driver-rig"

/** How often the driver checks the chip (CHIP_CHECK_MS in enc28j60.ts). */
const CHECK_MS = 1000
/** The stack's receive poll in these tests. */
const POLL_MS = 10

const buf = Buffer.alloc(1514)

/** Frames both ways, byte-exact. */
async function expectTraffic(rig: Rig, seed: number): Promise<void> {
    const { chip, dev, wire } = rig
    const inbound = frame(300 + seed, seed)
    expect(chip.deliverFromWire(inbound)).toBe(true)
    expect(await dev.receive(buf)).toBe(inbound.length)
    expect(buf.subarray(0, inbound.length).equals(inbound)).toBe(true)
    const outbound = frame(200 + seed, seed + 1, PEER)
    wire.length = 0
    expect(await dev.transmit(Buffer.from(outbound), outbound.length)).toBe(true)
    await dev.flushTx()
    expect(wire.length).toBe(1)
    expect(wire[0].equals(outbound)).toBe(true)
}

/** Polls receive() every POLL_MS until the driver has re-initialised the chip; virtual ms it took. */
async function pollUntilRecovered(rig: Rig, limitMs: number): Promise<number> {
    const { clock, dev } = rig
    const t0 = clock.nowUs()
    while (dev.counters.chipResets === 0 && clock.nowUs() - t0 < limitMs * 1000) {
        expect(await dev.receive(buf)).toBe(0)
        clock.advanceUs(POLL_MS * 1000)
    }
    return (clock.nowUs() - t0) / 1000
}

describe("ENC28J60 chip reset underneath the driver", () => {
    test.each([
        ["power glitch (buffer memory lost)", (r: Rig) => r.chip.powerCycle()],
        ["glitch on the RESET pin (buffer memory kept)", (r: Rig) => r.chip.hardwareReset()],
    ])("%s: noticed within a second, re-initialised, frames flow both ways", async (_name, glitch) => {
        const rig = await initRig()
        const { chip, clock, dev } = rig
        await expectTraffic(rig, 1)

        glitch(rig)
        // The supply is back and the oscillator has started before the host's next SPI access.
        clock.advanceUs(1000)
        expect([...chip.macAddress()]).toEqual([0, 0, 0, 0, 0, 0])
        expect(chip.peekRegister(0, 0x1f) & 0x04).toBe(0) // ECON1.RXEN off: deaf
        expect(chip.deliverFromWire(frame(100, 50))).toBe(false)

        const took = await pollUntilRecovered(rig, 10 * CHECK_MS)
        expect(dev.counters.chipResets).toBe(1)
        // Within the check interval, a poll and the bring-up's own waits (a few ms).
        expect(took).toBeLessThanOrEqual(CHECK_MS + 2 * POLL_MS)
        expect(dev.counters.busErrors).toBe(0)
        expect([...chip.macAddress()]).toEqual(MAC)
        expect(chip.peekRegister16(2, 0x0a)).toBe(1518) // MAMXFL
        expect(chip.peekRegister(0, 0x1f) & 0x04).toBe(0x04) // RXEN again
        expect(await dev.linkUp()).toBe(true)

        for (let i = 0; i < 20; i++) await expectTraffic(rig, 100 + i)
        // Once: an intact chip is not re-initialised again by later checks.
        for (let i = 0; i < 500; i++) {
            await dev.receive(buf)
            clock.advanceUs(POLL_MS * 1000)
        }
        expect(dev.counters.chipResets).toBe(1)
        expect(chip.stats.resets).toBe(3) // init's SRC, the glitch, the recovery's SRC
    })

    test("a frame sent to the reset chip before the check is lost, not thrown; a second glitch is a second reset", async () => {
        const rig = await initRig()
        const { chip, clock, dev } = rig
        await expectTraffic(rig, 1)
        chip.powerCycle()
        clock.advanceUs(1000)
        expect(typeof (await dev.transmit(frame(120, 7, PEER), 120))).toBe("boolean")
        await dev.flushTx()
        await pollUntilRecovered(rig, 10 * CHECK_MS)
        await expectTraffic(rig, 2)

        chip.powerCycle()
        clock.advanceUs(1000)
        const before = dev.counters.chipResets
        for (let i = 0; i < 2 * CHECK_MS / POLL_MS; i++) {
            await dev.receive(buf)
            clock.advanceUs(POLL_MS * 1000)
        }
        expect(dev.counters.chipResets).toBe(before + 1)
        await expectTraffic(rig, 3)
    })

    test("a reset under a frame in flight: its transmit timeout retries nothing into the reset chip", async () => {
        const rig = await initRig()
        const { chip, clock, dev } = rig
        await expectTraffic(rig, 1)
        expect(await dev.transmit(frame(1500, 8, PEER), 1500)).toBe(true) // on the wire for 1.2 ms
        chip.powerCycle()
        clock.advanceUs(1000)
        // The next frame waits for the one in flight: no TXIF ever comes (errata 12 timeout) and
        // the chip no longer holds our settings, so no retry from pointers the reset cleared
        // (the model would flag ETXND not after ETXST): refused, counted as a bus error.
        expect(await dev.transmit(frame(100, 9, PEER), 100)).toBe(false)
        expect(dev.counters.txTimeouts).toBe(1)
        expect(dev.counters.txAbortRetries).toBe(0)
        expect(dev.counters.busErrors).toBe(1)
        // Frames sent before the check notices go to an unconfigured chip: lost, within the rules.
        for (let i = 0; i < 3; i++) expect(await dev.transmit(frame(1514, 10 + i, PEER), 1514)).toBe(true)
        await dev.flushTx()
        expect(await pollUntilRecovered(rig, 10 * CHECK_MS)).toBeLessThanOrEqual(CHECK_MS + 2 * POLL_MS)
        expect(dev.counters.chipResets).toBe(1)
        await expectTraffic(rig, 2)
    })

    test("an intact chip under SPI garbage is not taken for a reset chip", async () => {
        const rig = await initRig()
        const { chip, clock, dev } = rig
        // Count the marker reads the garbage spoiled: the test means something only if some were.
        const spi = (dev as unknown as { spi: { read(reg: number): Promise<number> } }).spi
        const read = spi.read.bind(spi)
        let spoiledMarkers = 0
        spi.read = async (reg: number) => {
            const v = await read(reg)
            if (reg === Reg.MAMXFLL && v !== MAMXFL_LOW) spoiledMarkers++
            return v
        }
        chip.faults.spiGarbage(0.05)
        for (let i = 0; i < 3000; i++) {
            await dev.receive(buf)
            clock.advanceUs(POLL_MS * 1000)
        }
        chip.faults.spiGarbage(0)
        expect(spoiledMarkers).toBeGreaterThan(0)
        expect(dev.counters.chipResets).toBe(0)
    })
})

describe("ENC28J60 with no chip answering (module unplugged, MISO stuck)", () => {
    test.each([0xff, 0x00])("MISO reads %d: counted once, bring-ups back off to one a minute, none thrown; back when plugged in", async (level) => {
        const rig = await initRig()
        const { bus, chip, clock, dev } = rig
        await expectTraffic(rig, 1)
        // Unplugged: the chip sees nothing, every MISO byte reads `level`.
        let plugged = false
        const real = { select: bus.select.bind(bus), deselect: bus.deselect.bind(bus), transfer: bus.transfer.bind(bus) }
        bus.select = () => (plugged ? real.select() : undefined)
        bus.deselect = () => (plugged ? real.deselect() : undefined)
        bus.transfer = async (b: Buffer, o: number, l: number) => {
            if (plugged) return real.transfer(b, o, l)
            b.fill(level, o, o + l)
            clock.advanceUs(l)
        }

        // Ten minutes of the stack polling every 10 ms.
        let spiBefore = 0
        for (let i = 0; i < 60000; i++) {
            if (i === 200) spiBefore = dev.counters.spiTransactions
            expect(await dev.receive(buf)).toBe(0)
            // Once the reset is noticed (after a second) the driver leaves the chip alone.
            if (i % 1000 === 500) {
                expect(await dev.transmit(frame(100, i, PEER), 100)).toBe(false)
                expect(await dev.linkUp()).toBe(false)
            }
            clock.advanceUs(POLL_MS * 1000)
        }
        const c = dev.counters
        expect(c.chipResets).toBe(1)
        // Each failed bring-up is a bus error. Waits of 1, 2, 4, ... 64 s: about 14 attempts in
        // ten minutes, not thousands.
        expect(c.busErrors).toBeGreaterThanOrEqual(5)
        expect(c.busErrors).toBeLessThanOrEqual(16)
        // Once noticed, the chip is left alone between attempts: a few commands per attempt, none per poll.
        expect(c.spiTransactions - spiBefore).toBeLessThan(10 * c.busErrors)

        // Plugged back in (a fresh power-on): recovered at the next attempt, within 64 s.
        chip.powerCycle()
        plugged = true
        const failures = c.busErrors
        for (let i = 0; i < 6500 && !(await dev.linkUp()); i++) {
            await dev.receive(buf)
            clock.advanceUs(POLL_MS * 1000)
        }
        expect(c.busErrors).toBe(failures)
        expect(c.chipResets).toBe(1)
        await expectTraffic(rig, 2)
        expect([...chip.macAddress()]).toEqual(MAC)
    })
})
