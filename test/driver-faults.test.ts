// The ENC28J60 driver against the chip model's errata and injected faults: ring
// overflow, transmit aborts (errata 12), late collisions (errata 13), unreliable
// PKTIF (errata 6), a corrupt next-packet pointer, bad receive status, random SPI
// garbage. The model's violations list must stay empty throughout.
import { describe, expect, test } from "vitest"
import { mulberry32 } from "../sim/enc28j60/prng"
import { Enc28j60 } from "../src/driver/enc28j60/enc28j60"
import { PEER, frame, initRig } from "./helpers/driver-rig"

/** Receives until the driver reports nothing, returning the frames. */
async function drain(dev: Enc28j60, limit = 1000): Promise<Buffer[]> {
    const buf = Buffer.alloc(1514)
    const out: Buffer[] = []
    for (let i = 0; i < limit; i++) {
        const n = await dev.receive(buf)
        if (n === 0) break
        out.push(Buffer.from(buf.subarray(0, n)))
    }
    return out
}

describe("ENC28J60 receive faults", () => {
    test("ring overflow: the chip drops frames, the driver counts RXERIF and recovers", async () => {
        const { chip, dev } = await initRig()
        const sent: Buffer[] = []
        let refused = 0
        for (let i = 0; i < 20; i++) {
            const f = frame(1000, i)
            if (chip.deliverFromWire(f)) sent.push(f)
            else refused++
        }
        expect(refused).toBeGreaterThan(0)
        expect(chip.stats.rxOverflow).toBe(refused)
        const got = await drain(dev)
        expect(got.length).toBe(sent.length)
        for (let i = 0; i < got.length; i++) expect(got[i].equals(sent[i])).toBe(true)
        expect(dev.counters.rxOverflows).toBe(1)
        expect(dev.counters.rxResets).toBe(0)
        // After the overflow the ring works normally again, including another overflow.
        for (let round = 0; round < 3; round++) {
            const again: Buffer[] = []
            // 5 × 916 ring bytes fill most of the 5 KB ring.
            for (let i = 0; i < 5; i++) {
                const f = frame(900, 100 * round + i)
                expect(chip.deliverFromWire(f)).toBe(true)
                again.push(f)
            }
            const back = await drain(dev)
            expect(back.length).toBe(5)
            for (let i = 0; i < 5; i++) expect(back[i].equals(again[i])).toBe(true)
        }
        for (let i = 0; i < 20; i++) chip.deliverFromWire(frame(1400, 500 + i))
        expect((await drain(dev)).length).toBeGreaterThan(0)
        expect(dev.counters.rxOverflows).toBe(2)
    })

    test("a corrupt next pointer is skipped without losing later frames", async () => {
        const { chip, dev } = await initRig()
        const before = frame(300, 1)
        chip.deliverFromWire(before)
        chip.faults.corruptNextPointerOnce()
        const bad = frame(400, 2)
        chip.deliverFromWire(bad)
        const later = [frame(500, 3), frame(60, 4), frame(1514, 5)]
        for (const f of later) chip.deliverFromWire(f)
        const got = await drain(dev)
        expect(got.length).toBe(4)
        expect(got[0].equals(before)).toBe(true)
        for (let i = 0; i < 3; i++) expect(got[1 + i].equals(later[i])).toBe(true)
        expect(dev.counters.rxNextPtrRepairs).toBe(1)
        expect(dev.counters.rxBadHeaders).toBe(1)
        expect(dev.counters.rxResets).toBe(0)
        expect(chip.peekRegister(1, 0x19)).toBe(0) // EPKTCNT back to 0
    })

    test("a header that cannot be repaired resets the receive logic and the ring", async () => {
        const { chip, dev } = await initRig()
        chip.deliverFromWire(frame(300, 1))
        chip.deliverFromWire(frame(300, 2))
        // Scribble over the first packet's byte count: nothing adds up any more.
        chip.pokeBuffer(2, Buffer.from([0xff, 0x3f]))
        expect(await drain(dev)).toEqual([])
        expect(dev.counters.rxResets).toBe(1)
        // Frames after the reset are received normally.
        const f = frame(700, 3)
        expect(chip.deliverFromWire(f)).toBe(true)
        const got = await drain(dev)
        expect(got.length).toBe(1)
        expect(got[0].equals(f)).toBe(true)
    })

    test("a frame stored with bad status (RSV bit 23 clear) is dropped and counted", async () => {
        const { chip, dev } = await initRig()
        chip.deliverFromWire(frame(300, 1))
        chip.deliverFromWire(frame(301, 2))
        chip.pokeBuffer(4, Buffer.from([0x10])) // first packet: RSV 23:16 without "received OK"
        const got = await drain(dev)
        expect(got.length).toBe(1)
        expect(got[0].equals(frame(301, 2))).toBe(true)
        expect(dev.counters.rxDropBadStatus).toBe(1)
    })

    test("errata 6: packets are counted with EPKTCNT, not PKTIF", async () => {
        const { chip, dev } = await initRig()
        chip.faults.pktifUnreliable = true
        for (let i = 0; i < 5; i++) chip.deliverFromWire(frame(200 + i, i))
        const got = await drain(dev)
        expect(got.length).toBe(5)
        for (let i = 0; i < 5; i++) expect(got[i].equals(frame(200 + i, i))).toBe(true)
    })
})

describe("ENC28J60 transmit faults", () => {
    test("errata 12: an abort that leaves TXRTS stuck is retried after a TXRST pulse", async () => {
        const { chip, dev, wire } = await initRig()
        chip.faults.txAbortNext(2)
        const f = frame(600, 1, PEER)
        expect(await dev.transmit(Buffer.from(f), 600)).toBe(true)
        await dev.flushTx()
        expect(wire.length).toBe(1)
        expect(wire[0].equals(f)).toBe(true)
        expect(dev.counters.txAborts).toBe(2)
        expect(dev.counters.txAbortRetries).toBe(2)
        expect(dev.counters.txLateCollisionRetries).toBe(0)
        expect(dev.counters.txFrames).toBe(1)
        // The next frames go out normally.
        for (let i = 0; i < 3; i++) await dev.transmit(frame(100, 10 + i, PEER), 100)
        await dev.flushTx()
        expect(wire.length).toBe(4)
    })

    test("errata 13: a late collision (TSV bit 29) is retransmitted, in half duplex", async () => {
        const { chip, dev, wire } = await initRig({ fullDuplex: false })
        chip.faults.lateCollisionNext(3)
        const f = frame(1514, 1, PEER)
        expect(await dev.transmit(Buffer.from(f), 1514)).toBe(true)
        await dev.flushTx()
        expect(chip.stats.lateCollisions).toBe(3)
        expect(wire.length).toBe(1)
        expect(wire[0].equals(f)).toBe(true)
        expect(dev.counters.txLateCollisionRetries).toBe(3)
        expect(dev.counters.txAbortRetries).toBe(0)
        expect(dev.counters.txGiveUps).toBe(0)
    })

    test("retries are bounded: the frame is given up, the next one goes out", async () => {
        const { chip, dev, wire } = await initRig({ fullDuplex: false, maxTxRetries: 4 })
        chip.faults.lateCollisionNext(5)
        await dev.transmit(frame(200, 1, PEER), 200)
        await dev.flushTx()
        expect(wire.length).toBe(0)
        expect(dev.counters.txLateCollisionRetries).toBe(4)
        expect(dev.counters.txGiveUps).toBe(1)
        const g = frame(201, 2, PEER)
        await dev.transmit(Buffer.from(g), 201)
        await dev.flushTx()
        expect(wire.length).toBe(1)
        expect(wire[0].equals(g)).toBe(true)
    })

    test("a retry also happens when only receive() polls (no further transmit)", async () => {
        const { chip, clock, dev, wire } = await initRig({ fullDuplex: false })
        chip.faults.lateCollisionNext(1)
        await dev.transmit(frame(300, 1, PEER), 300)
        const buf = Buffer.alloc(1514)
        for (let i = 0; i < 10; i++) {
            clock.advanceUs(1000)
            await dev.receive(buf)
        }
        expect(wire.length).toBe(1)
        expect(dev.counters.txLateCollisionRetries).toBe(1)
        expect(dev.counters.txFrames).toBe(1)
    })

    test("transmit with the cable out does not hang; frames flow after it is back", async () => {
        const { chip, dev, wire } = await initRig()
        chip.setLink(false)
        expect(await dev.transmit(frame(100, 1, PEER), 100)).toBe(true)
        await dev.flushTx()
        expect(chip.stats.txNotOnWire).toBe(1)
        chip.setLink(true)
        await dev.transmit(frame(100, 2, PEER), 100)
        await dev.flushTx()
        expect(wire.length).toBe(1)
    })
})

describe("ENC28J60 under random SPI garbage", () => {
    test.each([1, 2, 3])("seed %i: no throw, bounded time, RX logic reset, recovery afterwards", async (seed) => {
        const { chip, clock, dev, wire } = await initRig()
        const rnd = mulberry32(seed * 7919)
        const buf = Buffer.alloc(1514)
        chip.faults.spiGarbage(0.02, mulberry32(seed))
        const t0 = clock.nowUs()
        let delivered = 0
        for (let i = 0; i < 3000; i++) {
            if (rnd() < 0.5 && chip.deliverFromWire(frame(42 + Math.floor(rnd() * 1473), i))) delivered++
            const n = await dev.receive(buf)
            expect(n).toBeGreaterThanOrEqual(0)
            expect(n).toBeLessThanOrEqual(1514)
            if (rnd() < 0.2) expect(typeof (await dev.transmit(frame(100, i, PEER), 100))).toBe("boolean")
        }
        // Bounded: 3000 rounds of virtual time (SPI bytes and short sleeps), far below a minute.
        expect((clock.nowUs() - t0) / 1e6).toBeLessThan(60)
        expect(delivered).toBeGreaterThan(1000)
        const c = dev.counters
        expect(c.rxBadHeaders).toBeGreaterThan(0)
        expect(c.rxResets + c.rxNextPtrRepairs).toBeGreaterThan(0)
        expect(c.rxFrames).toBeGreaterThan(delivered / 2)
        expect(c.busErrors).toBe(0)

        // Garbage off: after draining what is left, every frame arrives intact again.
        chip.faults.spiGarbage(0)
        await drain(dev)
        const fresh: Buffer[] = []
        for (let i = 0; i < 5; i++) {
            const f = frame(300 + i * 200, 90000 + i)
            expect(chip.deliverFromWire(f)).toBe(true)
            fresh.push(f)
        }
        const got = await drain(dev)
        expect(got.length).toBe(5)
        for (let i = 0; i < 5; i++) expect(got[i].equals(fresh[i])).toBe(true)
        wire.length = 0
        await dev.flushTx()
        const g = frame(555, 1, PEER)
        await dev.transmit(Buffer.from(g), 555)
        await dev.flushTx()
        expect(wire.length).toBe(1)
        expect(wire[0].equals(g)).toBe(true)
    })

    test("a bus that throws is caught and counted, never thrown from receive/transmit/linkUp", async () => {
        const { bus, dev, chip } = await initRig()
        const real = bus.transfer.bind(bus)
        let fail = true
        bus.transfer = async (b: Buffer, o: number, l: number) => {
            if (fail) throw new Error("SPI DMA error")
            return real(b, o, l)
        }
        expect(await dev.receive(Buffer.alloc(1514))).toBe(0)
        expect(await dev.transmit(frame(100, 1, PEER), 100)).toBe(false)
        expect(await dev.linkUp()).toBe(false)
        expect(dev.counters.busErrors).toBe(3)
        fail = false
        chip.deliverFromWire(frame(100, 2))
        const got = await drain(dev)
        expect(got.length).toBe(1)
    })
})
