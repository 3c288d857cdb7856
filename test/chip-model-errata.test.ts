// Errata (DS80349C numbering) and fault injection in the ENC28J60 model: each one
// behaves as the silicon would, so a driver that ignores the workaround fails.
import { describe, expect, test } from "vitest"
import { VirtualClock } from "../sim/clock"
import { Enc28j60Chip } from "../sim/enc28j60/chip"
import { mulberry32 } from "../sim/enc28j60/prng"
import { RawSpi } from "../sim/enc28j60/raw-spi"
import { RawInitOptions, rawInit, rawReceive, rawSend } from "../sim/enc28j60/raw-procedures"
import * as R from "../sim/enc28j60/registers"

const MAC = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55]
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]

function ready(o: RawInitOptions = {}, chipOpts: { revision?: number; sckHz?: number } = {}) {
    const clock = new VirtualClock()
    const chip = new Enc28j60Chip({ clock, ...chipOpts })
    const spi = new RawSpi(chip)
    const sent: Buffer[] = []
    chip.onWireTransmit = (f) => sent.push(Buffer.from(f))
    const ring = rawInit(spi, { mac: MAC, ...o })
    expect(chip.violations).toEqual([])
    return { clock, chip, spi, sent, ring }
}

function frame(dst: number[], len: number, seed = 1): Buffer {
    const f = Buffer.alloc(len)
    Buffer.from(dst).copy(f, 0)
    Buffer.from([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]).copy(f, 6)
    f.writeUInt16BE(0x0800, 12)
    for (let i = 14; i < len; i++) f[i] = (i * 13 + seed) & 0xff
    return f
}

/** Loads a frame at ETXST and sets TXRTS without waiting. */
function startSend(spi: RawSpi, txStart: number, f: Buffer): void {
    spi.writeReg16(R.EWRPTL, txStart)
    spi.wbm(Buffer.concat([Buffer.from([0]), f]))
    spi.writeReg16(R.ETXNDL, txStart + f.length)
    spi.bfs(R.ECON1, R.ECON1_TXRTS)
}

describe("errata", () => {
    test("1: MAC/MII access below 8 MHz SCK on rev B4 is lost and flagged", () => {
        const clock = new VirtualClock()
        const chip = new Enc28j60Chip({ clock, revision: 0x04, sckHz: 4e6 })
        const spi = new RawSpi(chip)
        clock.advanceUs(300)
        spi.writeReg(R.MACON1, 0x0d)
        expect(chip.violations.some((v) => v.includes("[errata 1]"))).toBe(true)
        chip.sckHz = 10e6
        expect(spi.readReg(R.MACON1)).toBe(0) // the write never happened
        // B7 has no such limit.
        const b7 = new Enc28j60Chip({ clock, revision: 0x06, sckHz: 4e6 })
        clock.advanceUs(300)
        new RawSpi(b7).writeReg(R.MACON1, 0x0d)
        expect(b7.violations).toEqual([])
        expect(b7.peekRegister(2, 0x00)).toBe(0x0d)
    })

    test("2: CLKRDY reads 1 right after SRC, but commands in the next 1 ms are lost", () => {
        const clock = new VirtualClock()
        const chip = new Enc28j60Chip({ clock })
        const spi = new RawSpi(chip)
        clock.advanceUs(300)
        spi.src()
        expect(spi.rcr(R.ESTAT) & R.ESTAT_CLKRDY).toBe(R.ESTAT_CLKRDY)
        expect(chip.violations).toEqual([])
        spi.wcr(R.EIE, 0x40)
        expect(spi.rcr(R.EIE)).toBe(0)
        expect(chip.violations.filter((v) => v.includes("[errata 2]")).length).toBe(2)
        clock.advanceUs(1000)
        spi.wcr(R.EIE, 0x40)
        expect(spi.rcr(R.EIE)).toBe(0x40)
    })

    test("5: a ring not starting at 0 gets its packets written at 0x0000, outside the ring", () => {
        const clock = new VirtualClock()
        const chip = new Enc28j60Chip({ clock })
        const spi = new RawSpi(chip)
        clock.advanceUs(300)
        spi.writeReg16(R.ERXSTL, 0x0800)
        spi.writeReg16(R.ERXNDL, 0x0fff)
        spi.writeReg16(R.ERXRDPTL, 0x0fff)
        expect(spi.readReg16(R.ERXWRPTL)).toBe(0) // not ERXST
        spi.writeReg(R.MACON1, R.MACON1_MARXEN)
        spi.writeReg(R.ERXFCON, 0)
        spi.bfs(R.ECON1, R.ECON1_RXEN)
        expect(chip.violations.some((v) => v.includes("[errata 5]"))).toBe(true)
        const f = frame(MAC, 60)
        expect(chip.deliverFromWire(f)).toBe(true)
        expect(chip.peekBuffer(6, 60).equals(f)).toBe(true) // at 0x0006, not at ERXST + 6
        expect(chip.peekBuffer(0x0800, 6).equals(Buffer.alloc(6))).toBe(true)
    })

    test("6: with the fault on, PKTIF reads 0 although EPKTCNT counts the packet", () => {
        const { chip, spi, ring } = ready()
        chip.faults.pktifUnreliable = true
        chip.deliverFromWire(frame(MAC, 60))
        expect(spi.rcr(R.EIR) & R.EIR_PKTIF).toBe(0)
        expect(spi.readReg(R.EPKTCNT)).toBe(1)
        expect(rawReceive(spi, ring)).not.toBeNull()
    })

    test("9: half duplex without PHCON2.HDLDIS loops our own broadcasts back", () => {
        const { chip, spi, ring } = ready({ fullDuplex: false })
        spi.phyWrite(R.PHCON2, 0)
        rawSend(spi, ring, frame(BCAST, 60))
        expect(spi.readReg(R.EPKTCNT)).toBe(1)
        spi.phyWrite(R.PHCON2, R.PHCON2_HDLDIS)
        rawReceive(spi, ring)
        rawSend(spi, ring, frame(BCAST, 60))
        expect(spi.readReg(R.EPKTCNT)).toBe(0)
        expect(chip.violations).toEqual([])
    })

    test("12: an abort can leave TXRTS stuck until TXRST is pulsed; releasing TXRST raises TXERIF", () => {
        const { chip, spi, ring, sent, clock } = ready()
        chip.faults.txAbortNext(1)
        startSend(spi, ring.txStart, frame(MAC, 100))
        clock.advanceUs(10000)
        expect(spi.rcr(R.ECON1) & R.ECON1_TXRTS).toBe(R.ECON1_TXRTS) // stuck
        expect(spi.rcr(R.EIR) & (R.EIR_TXERIF | R.EIR_TXIF)).toBe(R.EIR_TXERIF)
        expect(spi.rcr(R.ESTAT) & R.ESTAT_TXABRT).toBe(R.ESTAT_TXABRT)
        expect(sent.length).toBe(0)
        // Clearing TXRTS and retrying without TXRST does not help.
        spi.bfc(R.ECON1, R.ECON1_TXRTS)
        spi.bfs(R.ECON1, R.ECON1_TXRTS)
        clock.advanceUs(10000)
        expect(spi.rcr(R.ECON1) & R.ECON1_TXRTS).toBe(R.ECON1_TXRTS)
        expect(sent.length).toBe(0)
        // The workaround: pulse TXRST, clear the flags, send again.
        spi.bfs(R.ECON1, R.ECON1_TXRST)
        spi.bfc(R.ECON1, R.ECON1_TXRST)
        expect(spi.rcr(R.EIR) & R.EIR_TXERIF).toBe(R.EIR_TXERIF)
        expect(rawSend(spi, ring, frame(MAC, 100))[2] & 0x80).toBe(0x80)
        expect(sent.length).toBe(1)
        expect(chip.stats.txAborts).toBe(1)
    })

    test("13: late collisions end with TSV bit 29, nothing on the wire and LATECOL clear", () => {
        const { chip, spi, ring, sent } = ready({ fullDuplex: false })
        chip.faults.lateCollisionNext(2)
        const f = frame(MAC, 200)
        for (let i = 0; i < 2; i++) {
            const tsv = rawSend(spi, ring, f)
            expect(tsv[3] & 0x20).toBe(0x20) // TSV bit 29
            expect(tsv[2] & 0x80).toBe(0) // not done
            expect(spi.rcr(R.EIR) & R.EIR_TXERIF).toBe(R.EIR_TXERIF)
            expect(spi.rcr(R.ESTAT) & (R.ESTAT_TXABRT | R.ESTAT_LATECOL)).toBe(R.ESTAT_TXABRT) // errata 15
        }
        expect(sent.length).toBe(0)
        const tsv = rawSend(spi, ring, f)
        expect(tsv[3] & 0x20).toBe(0)
        expect(sent.length).toBe(1)
        expect(chip.stats.lateCollisions).toBe(2)
        expect(chip.violations).toEqual([])
    })

    test("14: an even ERXRDPT is flagged and corrupts the stored next-packet pointer", () => {
        const { chip, spi } = ready()
        spi.writeReg16(R.ERXRDPTL, 0x19fe)
        expect(chip.violations.some((v) => v.includes("[errata 14]"))).toBe(true)
        chip.deliverFromWire(frame(MAC, 60))
        const next = chip.peekBuffer(0, 2).readUInt16LE(0)
        expect(next & 1).toBe(1) // no packet can start there
        expect(spi.readReg16(R.ERXWRPTL)).toBe(70)
    })

    test("17: a frame arriving during a DMA checksum is lost; a DMA copy does not lose it", () => {
        const { chip, spi, clock } = ready()
        spi.writeReg16(R.EDMASTL, 0x1a00)
        spi.writeReg16(R.EDMANDL, 0x1dff)
        spi.bfs(R.ECON1, R.ECON1_CSUMEN | R.ECON1_DMAST)
        expect(chip.deliverFromWire(frame(MAC, 60))).toBe(false)
        expect(chip.stats.rxDmaAborts).toBe(1)
        clock.advanceUs(200)
        expect(spi.rcr(R.ECON1) & R.ECON1_DMAST).toBe(0)
        expect(chip.deliverFromWire(frame(MAC, 60))).toBe(true)
        spi.writeReg16(R.EDMADSTL, 0x1000)
        spi.bfc(R.ECON1, R.ECON1_CSUMEN)
        spi.bfs(R.ECON1, R.ECON1_DMAST)
        expect(chip.deliverFromWire(frame(MAC, 60))).toBe(true)
        expect(spi.readReg(R.EPKTCNT)).toBe(2)
    })

    test("19: SRC is ignored in power-save; leaving it restarts the 300 µs start-up timer", () => {
        const { chip, spi, clock } = ready()
        spi.bfc(R.ECON1, R.ECON1_RXEN)
        spi.bfs(R.ECON2, R.ECON2_PWRSV)
        expect(spi.rcr(R.ESTAT) & R.ESTAT_CLKRDY).toBe(0)
        spi.src()
        expect(chip.violations.some((v) => v.includes("[errata 19]"))).toBe(true)
        expect(chip.stats.resets).toBe(1) // only rawInit's
        spi.bfc(R.ECON2, R.ECON2_PWRSV)
        expect(spi.rcr(R.ESTAT) & R.ESTAT_CLKRDY).toBe(0)
        clock.advanceUs(300)
        expect(spi.rcr(R.ESTAT) & R.ESTAT_CLKRDY).toBe(R.ESTAT_CLKRDY)
        spi.src()
        expect(chip.stats.resets).toBe(2)
    })
})

describe("fault injection", () => {
    test("corruptNextPointerOnce: the next packet's header points outside the ring, later ones are fine", () => {
        const { chip, spi } = ready()
        chip.faults.corruptNextPointerOnce()
        chip.deliverFromWire(frame(MAC, 60))
        const bad = chip.peekBuffer(0, 2).readUInt16LE(0)
        expect(bad > 0x19ff).toBe(true)
        chip.deliverFromWire(frame(MAC, 60))
        expect(chip.peekBuffer(70, 2).readUInt16LE(0)).toBe(140)
        expect(spi.readReg16(R.ERXWRPTL)).toBe(140)
    })

    test("spiGarbage: a seeded share of MISO bytes is random, reproducibly", () => {
        const runs: Buffer[] = []
        for (let k = 0; k < 2; k++) {
            const { chip, spi } = ready()
            const f = frame(MAC, 1000)
            chip.deliverFromWire(f)
            chip.faults.spiGarbage(0.1, mulberry32(42))
            spi.writeReg16(R.ERDPTL, 6)
            chip.faults.spiGarbage(0.1, mulberry32(42))
            const got = spi.rbm(1000)
            const diff = got.reduce((n, b, i) => n + (b !== f[i] ? 1 : 0), 0)
            expect(diff).toBeGreaterThan(50)
            expect(diff).toBeLessThan(150)
            runs.push(got)
            chip.faults.spiGarbage(0)
            spi.writeReg16(R.ERDPTL, 6)
            expect(spi.rbm(1000).equals(f)).toBe(true) // memory itself is intact
        }
        expect(runs[0].equals(runs[1])).toBe(true)
    })
})
