// Datasheet rules the ENC28J60 model enforces: each broken rule lands in chip.violations
// (and the chip behaves as the silicon would), while the reference procedures stay clean.
import { describe, expect, test } from "vitest"
import { VirtualClock } from "../sim/clock"
import { Enc28j60Chip } from "../sim/enc28j60/chip"
import { RawSpi } from "../sim/enc28j60/raw-spi"
import { RawRing, rawInit } from "../sim/enc28j60/raw-procedures"
import * as R from "../sim/enc28j60/registers"

interface Env {
    chip: Enc28j60Chip
    spi: RawSpi
    clock: VirtualClock
    ring: RawRing
}

function ready(fullDuplex = true): Env {
    const clock = new VirtualClock()
    const chip = new Enc28j60Chip({ clock })
    const spi = new RawSpi(chip)
    const ring = rawInit(spi, { fullDuplex })
    expect(chip.violations).toEqual([])
    return { chip, spi, clock, ring }
}

function loadFrame(e: Env, len = 100): void {
    e.spi.writeReg16(R.EWRPTL, e.ring.txStart)
    const b = Buffer.alloc(len + 1, 0x11)
    b[0] = 0 // control byte: use MACON3
    e.spi.wbm(b)
    e.spi.writeReg16(R.ETXNDL, e.ring.txStart + len)
}

const cases: { rule: string; act: (e: Env) => void; want: RegExp; check?: (e: Env) => void }[] = [
    {
        rule: "MAC/MII register read without the dummy byte",
        act: (e) => {
            e.spi.bank(2)
            e.spi.command([R.MACON1 & 0x1f, 0])
        },
        want: /without the dummy byte/,
    },
    {
        rule: "BFS on a MAC register has no effect",
        act: (e) => {
            e.spi.bank(2)
            e.spi.bfs(R.MACON3 & 0x1f, 0x04)
        },
        want: /BFS\/BFC on MAC\/MII register MACON3/,
        check: (e) => expect(e.chip.peekRegister(2, 0x02) & 0x04).toBe(0),
    },
    {
        rule: "ERXST written while RXEN is set",
        act: (e) => e.spi.writeReg(R.ERXSTL, 0),
        want: /ERXSTL written while ECON1.RXEN/,
    },
    {
        rule: "TXRTS set again while a transmission is in flight",
        act: (e) => {
            loadFrame(e)
            e.spi.bfs(R.ECON1, R.ECON1_TXRTS)
            e.spi.bfs(R.ECON1, R.ECON1_TXRTS)
        },
        want: /TXRTS is already set/,
    },
    {
        rule: "MIRD read while BUSY",
        act: (e) => {
            e.spi.writeReg(R.MIREGADR, R.PHID1)
            e.spi.writeReg(R.MICMD, R.MICMD_MIIRD)
            e.spi.readReg(R.MIRDL)
        },
        want: /MIRDL read while MISTAT.BUSY/,
    },
    {
        rule: "MIRD read before clearing MIIRD",
        act: (e) => {
            e.spi.writeReg(R.MIREGADR, R.PHID1)
            e.spi.writeReg(R.MICMD, R.MICMD_MIIRD)
            e.spi.waitUs(20)
            e.spi.readReg(R.MIRDL)
        },
        want: /before MICMD.MIIRD was cleared/,
    },
    {
        rule: "MIIRD cleared while BUSY",
        act: (e) => {
            e.spi.writeReg(R.MIREGADR, R.PHID1)
            e.spi.writeReg(R.MICMD, R.MICMD_MIIRD)
            e.spi.writeReg(R.MICMD, 0)
        },
        want: /MIIRD cleared while MISTAT.BUSY/,
    },
    {
        rule: "MIWRH written while BUSY is ignored",
        act: (e) => {
            e.spi.writeReg(R.MIREGADR, R.PHIE)
            e.spi.writeReg(R.MIWRL, 0x12)
            e.spi.writeReg(R.MIWRH, 0)
            e.spi.writeReg(R.MIWRH, 0)
        },
        want: /MIWRH written while MISTAT.BUSY/,
    },
    {
        rule: "MACON3.FULDPX not matching PHCON1.PDPXMD when RXEN is set",
        act: (e) => {
            e.spi.bfc(R.ECON1, R.ECON1_RXEN)
            e.spi.phyWrite(R.PHCON1, 0)
            e.spi.bfs(R.ECON1, R.ECON1_RXEN)
        },
        want: /FULDPX = 1 but PHCON1.PDPXMD = 0/,
    },
    {
        rule: "extra bytes after a complete WCR",
        act: (e) => e.spi.command([0x40 | R.EIE, 0x00, 0x00]),
        want: /extra bytes/,
    },
    {
        rule: "RCR ended before its data byte",
        act: (e) => e.spi.command([R.EIR]),
        want: /RCR EIR ended before its data byte/,
    },
    {
        rule: "PKTDEC with EPKTCNT = 0",
        act: (e) => e.spi.bfs(R.ECON2, R.ECON2_PKTDEC),
        want: /PKTDEC with EPKTCNT = 0/,
    },
    {
        rule: "ETXND written while transmitting",
        act: (e) => {
            loadFrame(e)
            e.spi.bfs(R.ECON1, R.ECON1_TXRTS)
            e.spi.writeReg16(R.ETXNDL, e.ring.txStart + 10)
        },
        want: /ETXNDL written while ECON1.TXRTS/,
    },
    {
        rule: "frame bytes rewritten over SPI while being sent",
        act: (e) => {
            loadFrame(e)
            e.spi.bfs(R.ECON1, R.ECON1_TXRTS)
            e.spi.writeReg16(R.EWRPTL, e.ring.txStart + 5)
            e.spi.wbm(Buffer.from([1]))
        },
        want: /transmit buffer byte .* written over SPI while the frame is being sent/,
    },
    {
        rule: "transmit buffer overlapping the receive ring",
        act: (e) => {
            e.spi.writeReg16(R.ETXSTL, 0x0100)
            e.spi.writeReg16(R.ETXNDL, 0x0140)
            e.spi.bfs(R.ECON1, R.ECON1_TXRTS)
        },
        want: /overlaps the receive ring/,
    },
    {
        rule: "DMA with EDMAST = EDMAND never ends",
        act: (e) => {
            e.spi.writeReg16(R.EDMASTL, 0x1c00)
            e.spi.writeReg16(R.EDMANDL, 0x1c00)
            e.spi.bfs(R.ECON1, R.ECON1_DMAST)
            e.clock.advanceUs(10000)
        },
        want: /EDMAST = EDMAND/,
        check: (e) => expect(e.spi.rcr(R.ECON1) & R.ECON1_DMAST).toBe(R.ECON1_DMAST),
    },
    {
        rule: "write to read-only EPKTCNT",
        act: (e) => e.spi.writeReg(R.EPKTCNT, 5),
        want: /read-only register EPKTCNT/,
        check: (e) => expect(e.spi.readReg(R.EPKTCNT)).toBe(0),
    },
    {
        rule: "unknown opcode",
        act: (e) => e.spi.command([0xc5]),
        want: /unknown opcode 0xc5/,
    },
    {
        rule: "power-save entered with RXEN set",
        act: (e) => e.spi.bfs(R.ECON2, R.ECON2_PWRSV),
        want: /PWRSV set while ECON1.RXEN/,
    },
    {
        rule: "receive enabled with ERXRDPT outside the ring",
        act: (e) => {
            e.spi.bfc(R.ECON1, R.ECON1_RXEN)
            e.spi.writeReg16(R.ERXRDPTL, 0x1c01)
            e.spi.bfs(R.ECON1, R.ECON1_RXEN)
        },
        want: /ERXRDPT 0x1c01 outside ERXST..ERXND/,
    },
    {
        rule: "PADCFG padding with TXCRCEN clear",
        act: (e) => {
            e.spi.writeReg(R.MACON3, 0x20 | R.MACON3_FULDPX)
            loadFrame(e, 42)
            e.spi.bfs(R.ECON1, R.ECON1_TXRTS)
            e.clock.advanceUs(1000)
            e.spi.rcr(R.ECON1)
        },
        want: /PADCFG pads with CRC but MACON3.TXCRCEN is clear/,
    },
    {
        rule: "byte clocked with CS high",
        act: (e) => e.chip.exchange(0x00),
        want: /CS is high/,
    },
]

describe("datasheet rule violations", () => {
    for (const c of cases) {
        test(c.rule, () => {
            const e = ready()
            c.act(e)
            expect(e.chip.violations.some((v) => c.want.test(v)), JSON.stringify(e.chip.violations)).toBe(true)
            if (c.check) c.check(e)
        })
    }

    test("MAC/MII access and RXEN before CLKRDY after power-on are ignored", () => {
        const clock = new VirtualClock()
        const chip = new Enc28j60Chip({ clock })
        const spi = new RawSpi(chip)
        spi.writeReg(R.MACON1, R.MACON1_MARXEN)
        spi.bfs(R.ECON1, R.ECON1_RXEN)
        expect(chip.violations.some((v) => /before ESTAT.CLKRDY/.test(v))).toBe(true)
        expect(chip.violations.some((v) => /RXEN set before the chip is ready/.test(v))).toBe(true)
        clock.advanceUs(300)
        expect(spi.readReg(R.MACON1)).toBe(0)
        expect(spi.rcr(R.ECON1) & R.ECON1_RXEN).toBe(0)
    })

    test("violations are bounded", () => {
        const e = ready()
        for (let i = 0; i < 1500; i++) e.spi.bfs(R.ECON2, R.ECON2_PKTDEC)
        expect(e.chip.violations.length).toBe(1000)
        expect(e.chip.violationsDropped).toBe(500)
    })
})
