// The ENC28J60 driver against the register-level chip model: bring-up, frames both
// ways, the ring, link, efficiency. Fault handling is in driver-faults.test.ts.
// Every test ends by checking that the model saw no datasheet/errata rule broken.
import { describe, expect, test } from "vitest"
import { RawSpi } from "../sim/enc28j60/raw-spi"
import { mulberry32 } from "../sim/enc28j60/prng"
import { Enc28j60 } from "../src/driver/enc28j60/enc28j60"
import { SpiBus } from "../src/driver/spi-bus"
import { allocationCount } from "../src/util/bytes"
import { MAC, PEER, frame, initRig, makeRig } from "./helpers/driver-rig"

/** What the wire carries for a frame: padded with zeros to 60 bytes. */
function onWire(f: Buffer): Buffer {
    if (f.length >= 60) return f
    const p = Buffer.alloc(60)
    f.copy(p)
    return p
}

/** Ring bytes a stored packet takes: header, frame (>= 60) + FCS, pad to even. */
function ringBytes(len: number): number {
    const n = 6 + Math.max(len, 60) + 4
    return n + (n & 1)
}

describe("ENC28J60 bring-up", () => {
    test("programs the chip per datasheet and errata (full duplex)", async () => {
        const { chip, dev } = await initRig({ fullDuplex: true })
        expect(dev.revision).toBe(0x06)
        expect(chip.peekRegister16(0, 0x08)).toBe(0) // ERXST = 0 (errata 5)
        expect(chip.peekRegister16(0, 0x0a)).toBe(0x140d) // ERXND odd: 5,134 bytes, 3 full-size packets
        expect(chip.peekRegister16(0, 0x0c)).toBe(0x140d) // ERXRDPT = ERXND (errata 14)
        expect(chip.peekRegister(1, 0x18)).toBe(0x80 | 0x20 | 0x01) // ERXFCON UCEN|CRCEN|BCEN
        expect(chip.peekRegister(2, 0x02) & 0x01).toBe(0x01) // MACON3.FULDPX
        expect(chip.peekPhy(0x00) & 0x0100).toBe(0x0100) // PHCON1.PDPXMD matches
        expect(chip.peekRegister(2, 0x00) & 0x01).toBe(0x01) // MACON1.MARXEN
        expect(chip.peekRegister16(2, 0x0a)).toBe(1518) // MAMXFL
        expect([...chip.macAddress()]).toEqual(MAC)
        expect(chip.peekPhy(0x12)).toBe(0x0012) // PHIE = PGEIE|PLNKIE
        expect(chip.peekRegister(0, 0x1f) & 0x04).toBe(0x04) // ECON1.RXEN
        expect(await dev.linkUp()).toBe(true)
    })

    test("half duplex is the default (no auto-negotiation): MAC and PHY agree, HDLDIS set (errata 9)", async () => {
        const { chip, dev } = await initRig()
        expect(chip.peekRegister(2, 0x02) & 0x01).toBe(0) // no FULDPX
        expect(chip.peekPhy(0x00) & 0x0100).toBe(0) // no PDPXMD
        expect(chip.peekPhy(0x10) & 0x0100).toBe(0x0100) // PHCON2.HDLDIS
        expect(chip.peekRegister(2, 0x03) & 0x40).toBe(0x40) // MACON4.DEFER
        // No loopback of our own frames (errata 9): nothing arrives back.
        await dev.transmit(frame(100, 1, PEER), 100)
        await dev.flushTx()
        expect(await dev.receive(Buffer.alloc(1514))).toBe(0)
        expect(chip.stats.txFrames).toBe(1)
    })

    test("leaves power save before the reset (errata 19)", async () => {
        const rig = makeRig()
        rig.clock.advanceUs(1000)
        const raw = new RawSpi(rig.chip)
        raw.bfs(0x1e, 0x20) // ECON2.PWRSV
        expect(rig.chip.peekRegister(0, 0x1e) & 0x20).toBe(0x20)
        await rig.dev.init()
        expect(rig.chip.peekRegister(0, 0x1e) & 0x20).toBe(0)
        expect(rig.chip.stats.resets).toBe(1)
    })

    test("a custom ring size moves the transmit area", async () => {
        const { chip, dev } = await initRig({ rxRingEnd: 0x0fff })
        expect(chip.peekRegister16(0, 0x0a)).toBe(0x0fff)
        const f = frame(300, 2, PEER)
        expect(await dev.transmit(Buffer.from(f), 300)).toBe(true)
        await dev.flushTx()
        expect(chip.peekRegister16(0, 0x04)).toBe(0x1000) // ETXST: the first area follows the ring
        expect(chip.peekBuffer(0x1001, 300).equals(f)).toBe(true)
        const g = frame(301, 3, PEER)
        expect(await dev.transmit(Buffer.from(g), 301)).toBe(true)
        await dev.flushTx()
        expect(chip.peekRegister16(0, 0x04)).toBe(0x1600) // the second area, 0x600 further
        expect(chip.peekBuffer(0x1601, 301).equals(g)).toBe(true)
    })

    test("rejects bad options", () => {
        const bus = makeRig().bus
        const timing = { nowMs: () => 0, delayMs: async () => {} }
        expect(() => new Enc28j60(bus, timing, { mac: [1, 2, 3] })).toThrow(/mac/)
        expect(() => new Enc28j60(bus, timing, { mac: MAC, rxRingEnd: 0x1000 })).toThrow(/odd/)
        expect(() => new Enc28j60(bus, timing, { mac: MAC, rxRingEnd: 0x1fff })).toThrow(/room/)
    })

    test.each([0xff, 0x00])("no chip: init rejects when every MISO byte is 0x%s", async (miso) => {
        let transfers = 0
        const bus: SpiBus = {
            select() {},
            deselect() {},
            async transfer(buf: Buffer, off: number, len: number) {
                transfers++
                buf.fill(miso, off, off + len)
            },
        }
        let now = 0
        const dev = new Enc28j60(bus, { nowMs: () => now, delayMs: async (ms) => void (now += ms) }, { mac: MAC })
        await expect(dev.init()).rejects.toThrow(/no chip/)
        expect(transfers).toBeLessThan(10)
        expect(await dev.receive(Buffer.alloc(100))).toBe(0)
        expect(await dev.transmit(Buffer.alloc(100), 100)).toBe(false)
        expect(await dev.linkUp()).toBe(false)
    })
})

describe("ENC28J60 frames", () => {
    test("every length 42..1514 arrives byte-exact (FCS stripped)", async () => {
        const { chip, dev } = await initRig()
        const buf = Buffer.alloc(1514)
        for (let len = 42; len <= 1514; len++) {
            const f = frame(len, len)
            expect(chip.deliverFromWire(f)).toBe(true)
            const n = await dev.receive(buf)
            const want = onWire(f)
            expect(n).toBe(want.length)
            if (!buf.subarray(0, n).equals(want)) throw new Error(`frame of ${len} bytes differs`)
        }
        expect(await dev.receive(buf)).toBe(0)
        expect(dev.counters.rxFrames).toBe(1514 - 42 + 1)
        expect(dev.counters.rxResets).toBe(0)
        expect(dev.counters.rxBadHeaders).toBe(0)
    })

    test("every length 42..1514 goes out byte-exact, written from the caller's buffer in place", async () => {
        const { dev, wire } = await initRig()
        for (let len = 42; len <= 1514; len++) {
            // One byte more than the frame: only buf[0..len) goes out.
            const f = Buffer.alloc(len + 1, 0x5a)
            frame(len, len, PEER).copy(f)
            expect(await dev.transmit(f, len)).toBe(true)
            // NetDevice.transmit: buf[0..len) is undefined afterwards; here it holds MISO (0xFF in the model).
            expect(f.subarray(0, len).equals(Buffer.alloc(len, 0xff))).toBe(true)
            expect(f[len]).toBe(0x5a)
        }
        await dev.flushTx()
        expect(wire.length).toBe(1514 - 42 + 1)
        for (let len = 42; len <= 1514; len++) {
            const got = wire[len - 42]
            if (!got.equals(onWire(frame(len, len, PEER)))) throw new Error(`frame of ${len} bytes differs on the wire`)
        }
        expect(dev.counters.txFrames).toBe(1514 - 42 + 1)
        expect(dev.counters.txAborts).toBe(0)
    })

    test("transmit refuses bad lengths", async () => {
        const { dev, wire } = await initRig()
        const f = frame(1514, 1, PEER)
        expect(await dev.transmit(f, 13)).toBe(false)
        expect(await dev.transmit(f, 1515)).toBe(false)
        expect(await dev.transmit(Buffer.alloc(100), 200)).toBe(false)
        expect(dev.counters.txRefused).toBe(3)
        await dev.flushTx()
        expect(wire.length).toBe(0)
    })

    test("the ring wraps cleanly over thousands of frames, in bursts", async () => {
        const { chip, dev } = await initRig()
        const rnd = mulberry32(42)
        const buf = Buffer.alloc(1514)
        const queue: Buffer[] = []
        let ringTraffic = 0
        let seed = 1000
        let received = 0
        for (let round = 0; round < 600; round++) {
            // Burst of 1-8 frames, then drain some (not always all) of them.
            const burst = 1 + Math.floor(rnd() * 8)
            for (let i = 0; i < burst; i++) {
                const len = 42 + Math.floor(rnd() * (1514 - 42 + 1))
                const f = frame(len, seed++)
                if (chip.deliverFromWire(f)) {
                    queue.push(onWire(f))
                    ringTraffic += ringBytes(len)
                }
            }
            const drain = rnd() < 0.8 ? queue.length : Math.floor(queue.length / 2)
            for (let i = 0; i < drain; i++) {
                const n = await dev.receive(buf)
                const want = queue.shift()!
                expect(n).toBe(want.length)
                if (!buf.subarray(0, n).equals(want)) throw new Error(`frame ${received} differs`)
                received++
            }
        }
        while (queue.length > 0) {
            const n = await dev.receive(buf)
            expect(buf.subarray(0, n).equals(queue.shift()!)).toBe(true)
            received++
        }
        expect(await dev.receive(buf)).toBe(0)
        expect(received).toBeGreaterThan(2000)
        expect(ringTraffic / 0x140e).toBeGreaterThan(100) // wrapped the ring > 100 times
        expect(dev.counters.rxFrames).toBe(received)
        expect(dev.counters.rxResets + dev.counters.rxBadHeaders).toBe(0)
        expect(chip.peekRegister(1, 0x19)).toBe(0) // EPKTCNT
    })

    test("frames flow both ways interleaved (pipelined transmit)", async () => {
        const { chip, dev, wire } = await initRig()
        const buf = Buffer.alloc(1514)
        for (let i = 0; i < 200; i++) {
            const out = frame(60 + i * 7, i, PEER)
            expect(await dev.transmit(out, out.length)).toBe(true)
            const inc = frame(1514 - i * 7, 10000 + i)
            chip.deliverFromWire(inc)
            expect(await dev.receive(buf)).toBe(inc.length)
            expect(buf.subarray(0, inc.length).equals(inc)).toBe(true)
        }
        await dev.flushTx()
        expect(wire.length).toBe(200)
        for (let i = 0; i < 200; i++) expect(wire[i].equals(frame(60 + i * 7, i, PEER))).toBe(true)
    })

    test("a frame larger than the caller's buffer is dropped and counted", async () => {
        const { chip, dev } = await initRig()
        chip.deliverFromWire(frame(1000, 1))
        chip.deliverFromWire(frame(200, 2))
        const small = Buffer.alloc(500)
        expect(await dev.receive(small)).toBe(200)
        expect(small.subarray(0, 200).equals(frame(200, 2))).toBe(true)
        expect(dev.counters.rxDropTooBig).toBe(1)
    })

    test("frames for other addresses are filtered, broadcast accepted", async () => {
        const { chip, dev } = await initRig()
        const buf = Buffer.alloc(1514)
        expect(chip.deliverFromWire(frame(100, 1, [0x02, 9, 9, 9, 9, 9]))).toBe(false)
        const bc = frame(100, 2, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        expect(chip.deliverFromWire(bc)).toBe(true)
        expect(await dev.receive(buf)).toBe(100)
        expect(buf.subarray(0, 100).equals(bc)).toBe(true)
    })
})

describe("ENC28J60 driver state", () => {
    test("init again mid-traffic starts clean", async () => {
        const { chip, dev, wire } = await initRig()
        chip.deliverFromWire(frame(400, 1))
        chip.deliverFromWire(frame(400, 2))
        await dev.transmit(frame(400, 3, PEER), 400)
        await dev.init()
        expect(chip.stats.resets).toBe(2)
        const buf = Buffer.alloc(1514)
        expect(await dev.receive(buf)).toBe(0) // the reset emptied the ring
        const f = frame(401, 4)
        chip.deliverFromWire(f)
        expect(await dev.receive(buf)).toBe(401)
        expect(buf.subarray(0, 401).equals(f)).toBe(true)
        wire.length = 0
        await dev.transmit(f, 401)
        await dev.flushTx()
        expect(wire.length).toBe(1)
    })

    test("overlapping calls are refused and counted, not interleaved on the bus", async () => {
        const { chip, dev, wire } = await initRig()
        chip.deliverFromWire(frame(400, 1))
        const buf = Buffer.alloc(1514)
        const [n, sent, n2] = await Promise.all([dev.receive(buf), dev.transmit(frame(100, 2, PEER), 100), dev.receive(buf)])
        expect(n).toBe(400)
        expect(sent).toBe(false)
        expect(n2).toBe(0)
        expect(dev.counters.overlappingCalls).toBe(2)
        await dev.flushTx()
        expect(wire.length).toBe(0)
    })
})

describe("ENC28J60 link", () => {
    test("link down then up: seen, counted, and traffic resumes", async () => {
        const { chip, dev, wire } = await initRig()
        const buf = Buffer.alloc(1514)
        expect(await dev.linkUp()).toBe(true)
        chip.setLink(false)
        expect(await dev.linkUp()).toBe(false)
        expect(dev.counters.linkChanges).toBe(1)
        expect(chip.deliverFromWire(frame(100, 1))).toBe(false)
        expect(await dev.receive(buf)).toBe(0)
        chip.setLink(true)
        expect(await dev.linkUp()).toBe(true)
        expect(dev.counters.linkChanges).toBe(2)
        expect(chip.deliverFromWire(frame(100, 2))).toBe(true)
        expect(await dev.receive(buf)).toBe(100)
        expect(await dev.transmit(frame(100, 3, PEER), 100)).toBe(true)
        await dev.flushTx()
        expect(wire.length).toBe(1)
    })

    test("linkUp is cheap while nothing changes (one EIR read)", async () => {
        const { dev } = await initRig()
        await dev.linkUp()
        const before = dev.counters.spiTransactions
        for (let i = 0; i < 10; i++) expect(await dev.linkUp()).toBe(true)
        expect(dev.counters.spiTransactions - before).toBe(10)
    })
})

describe("ENC28J60 SPI efficiency and memory", () => {
    test("per-frame SPI cost is small and nothing is allocated after init", async () => {
        const { chip, bus, dev } = await initRig()
        const buf = Buffer.alloc(1514)
        const out = frame(1000, 5, PEER)
        // Warm up (first bank switches, first TXRST).
        chip.deliverFromWire(frame(500, 1))
        await dev.receive(buf)
        await dev.transmit(out, 1000)
        await dev.flushTx()

        const allocs = allocationCount()
        let t0 = dev.counters.spiTransactions
        let x0 = bus.transfers
        const N = 50
        for (let round = 0; round < 5; round++) {
            // 10 frames of 400 bytes fit in the 5 KB ring.
            for (let i = 0; i < 10; i++) expect(chip.deliverFromWire(frame(400, 100 + i))).toBe(true)
            for (let i = 0; i < 10; i++) expect(await dev.receive(buf)).toBe(400)
        }
        const rxTransactions = (dev.counters.spiTransactions - t0) / N
        const rxTransfers = (bus.transfers - x0) / N
        // Receive: RBM (header, frame in place, FCS), ERXRDPT x2, PKTDEC, plus the amortised poll.
        expect(rxTransactions).toBeLessThanOrEqual(4.5)
        expect(rxTransfers).toBeLessThanOrEqual(6.5)

        t0 = dev.counters.spiTransactions
        for (let i = 0; i < N; i++) expect(await dev.transmit(out, 1000)).toBe(true)
        await dev.flushTx()
        const txTransactions = (dev.counters.spiTransactions - t0) / N
        // Transmit: completion poll, EWRPT x2, WBM, TXRST pulse x2, EIR clear, TXRTS, and the
        // high bytes of ETXST and ETXND (the two areas are 0x600 apart: the low bytes stay).
        expect(txTransactions).toBeLessThanOrEqual(10)
        expect(allocationCount()).toBe(allocs)
    })

    test("idle polling costs two transactions", async () => {
        const { dev } = await initRig()
        const buf = Buffer.alloc(1514)
        await dev.receive(buf)
        const t0 = dev.counters.spiTransactions
        for (let i = 0; i < 100; i++) expect(await dev.receive(buf)).toBe(0)
        expect(dev.counters.spiTransactions - t0).toBe(200)
    })

    test("works at every SPI clock from 8 to 20 MHz", async () => {
        for (const hz of [8e6, 10e6, 20e6]) {
            const { chip, dev } = await initRig({}, hz)
            const buf = Buffer.alloc(1514)
            chip.deliverFromWire(frame(777, hz))
            expect(await dev.receive(buf)).toBe(777)
        }
    })
})
