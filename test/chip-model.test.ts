// The ENC28J60 register-level model, driven by raw SPI commands: decoding, registers,
// buffer memory, receive ring, transmit, MII/PHY, filters, DMA.
import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { VirtualClock } from "../sim/clock"
import { Enc28j60Chip } from "../sim/enc28j60/chip"
import { crc32 } from "../sim/enc28j60/crc32"
import { RawSpi } from "../sim/enc28j60/raw-spi"
import { rawInit, rawReceive, rawSend } from "../sim/enc28j60/raw-procedures"
import * as R from "../sim/enc28j60/registers"

const MAC = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55]
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]

function setup(opts: { sckHz?: number; revision?: number } = {}) {
    const clock = new VirtualClock()
    const chip = new Enc28j60Chip({ clock, ...opts })
    const spi = new RawSpi(chip)
    const sent: Buffer[] = []
    chip.onWireTransmit = (f) => sent.push(Buffer.from(f))
    return { clock, chip, spi, sent }
}

/** A ready chip configured by the datasheet procedure. */
function ready(o: Parameters<typeof rawInit>[1] = {}) {
    const s = setup()
    const ring = rawInit(s.spi, { mac: MAC, ...o })
    expect(s.chip.violations).toEqual([])
    return { ...s, ring }
}

function frame(dst: number[], len: number, fill = 0x5a, type = 0x0800): Buffer {
    const f = Buffer.alloc(len, fill)
    Buffer.from(dst).copy(f, 0)
    Buffer.from([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]).copy(f, 6)
    f[12] = type >> 8
    f[13] = type & 0xff
    for (let i = 14; i < len; i++) f[i] = (i * 7 + fill) & 0xff
    return f
}

function fcsOf(f: Buffer): Buffer {
    const c = crc32(f, 0, f.length)
    return Buffer.from([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24])
}

describe("SPI command decoding and registers", () => {
    test("reset values (Table 3-2) and CLKRDY after the 300 µs start-up timer", () => {
        const { chip, spi, clock } = setup()
        expect(spi.rcr(R.ESTAT) & R.ESTAT_CLKRDY).toBe(0)
        clock.advanceUs(300)
        expect(spi.rcr(R.ESTAT) & R.ESTAT_CLKRDY).toBe(R.ESTAT_CLKRDY)
        expect(spi.rcr(R.ECON2)).toBe(0x80)
        expect(spi.rcr(R.ECON1)).toBe(0)
        expect(spi.readReg16(R.ERDPTL)).toBe(0x05fa)
        expect(spi.readReg16(R.ERXSTL)).toBe(0x05fa)
        expect(spi.readReg16(R.ERXNDL)).toBe(0x1fff)
        expect(spi.readReg16(R.ERXRDPTL)).toBe(0x05fa)
        expect(spi.readReg16(R.ETXSTL)).toBe(0)
        expect(spi.readReg16(R.ERXWRPTL)).toBe(0)
        expect(spi.readReg(R.ERXFCON)).toBe(0xa1)
        expect(spi.readReg(R.EPKTCNT)).toBe(0)
        expect(spi.readReg16(R.MAMXFLL)).toBe(0x0600)
        expect(spi.readReg(R.MACLCON1)).toBe(0x0f)
        expect(spi.readReg(R.MACLCON2)).toBe(0x37)
        expect(spi.readReg(R.EREVID)).toBe(0x06)
        expect(spi.readReg(R.ECOCON)).toBe(0x04)
        expect(spi.readReg16(R.EPAUSL)).toBe(0x1000)
        expect(spi.phyRead(R.PHID1)).toBe(0x0083)
        expect(spi.phyRead(R.PHID2)).toBe(0x1400)
        expect(spi.phyRead(R.PHLCON)).toBe(0x3422)
        expect(chip.violations).toEqual([])
    })

    test("EREVID follows the revision option", () => {
        const { spi, clock } = setup({ revision: 0x05 })
        clock.advanceUs(300)
        expect(spi.readReg(R.EREVID)).toBe(0x05)
    })

    test("four banks selected by ECON1.BSEL; 0x1B-0x1F are the same in every bank", () => {
        const { chip, spi, clock } = setup()
        clock.advanceUs(300)
        spi.bank(0)
        spi.wcr(0x18, 0x12) // bank 0 0x18: unimplemented
        spi.wcr(R.EIE, 0x48)
        spi.bank(1)
        expect(spi.rcr(0x18)).toBe(0xa1) // ERXFCON untouched
        spi.wcr(0x18, 0x03)
        expect(spi.rcr(R.EIE)).toBe(0x48)
        spi.bank(3)
        expect(spi.rcr(0x12)).toBe(0x06) // EREVID
        expect(spi.rcr(R.EIE)).toBe(0x48)
        spi.bank(0)
        expect(spi.rcr(0x18)).toBe(0)
        expect(chip.peekRegister(1, 0x18)).toBe(0x03)
        expect(chip.violations).toEqual([])
    })

    test("MAC/MII registers shift out a dummy byte before the value", () => {
        const { chip, spi, clock } = setup()
        clock.advanceUs(300)
        spi.bank(2)
        spi.wcr(0x00, 0x0d) // MACON1
        const [, dummy, value] = spi.command([0x00, 0, 0])
        expect(value).toBe(0x0d)
        expect(dummy).not.toBe(0x0d)
        // An ETH register answers in the first byte.
        spi.bank(0)
        spi.wcr(0x00, 0x34)
        expect(spi.command([0x00, 0])[1]).toBe(0x34)
        expect(chip.violations).toEqual([])
    })

    test("BFS/BFC set and clear bits of ETH registers", () => {
        const { spi, clock } = setup()
        clock.advanceUs(300)
        spi.bfs(R.EIE, 0x81)
        spi.bfs(R.EIE, 0x40)
        expect(spi.rcr(R.EIE)).toBe(0xc1)
        spi.bfc(R.EIE, 0x80)
        expect(spi.rcr(R.EIE)).toBe(0x41)
    })

    test("EIR flags can be cleared but not set by software; PKTDEC reads back 0", () => {
        const { chip, spi } = ready()
        chip.deliverFromWire(frame(MAC, 64))
        expect(spi.rcr(R.EIR) & R.EIR_PKTIF).toBe(R.EIR_PKTIF)
        spi.bfc(R.EIR, R.EIR_PKTIF) // read-only: follows EPKTCNT
        expect(spi.rcr(R.EIR) & R.EIR_PKTIF).toBe(R.EIR_PKTIF)
        spi.bfs(R.EIR, R.EIR_TXIF | R.EIR_DMAIF)
        spi.wcr(R.EIR, 0xff)
        expect(spi.rcr(R.EIR) & (R.EIR_TXIF | R.EIR_DMAIF)).toBe(0)
        spi.bfs(R.ECON2, R.ECON2_PKTDEC)
        expect(spi.rcr(R.ECON2)).toBe(0x80)
        expect(spi.readReg(R.EPKTCNT)).toBe(0)
        expect(spi.rcr(R.EIR) & R.EIR_PKTIF).toBe(0)
    })

    test("SRC resets the registers and is counted", () => {
        const { chip, spi, clock } = setup()
        clock.advanceUs(300)
        spi.writeReg(R.ERXFCON, 0)
        spi.writeReg16(R.ETXSTL, 0x1234)
        spi.src()
        clock.advanceUs(1000)
        expect(spi.readReg(R.ERXFCON)).toBe(0xa1)
        expect(spi.readReg16(R.ETXSTL)).toBe(0)
        expect(chip.stats.resets).toBe(1)
        expect(chip.violations).toEqual([])
    })

    test("the RESET pin resets registers, keeps the buffer memory and restarts the start-up timer", () => {
        const { chip, spi, clock } = setup()
        clock.advanceUs(300)
        chip.pokeBuffer(0x100, Buffer.from([1, 2, 3]))
        spi.writeReg(R.ERXFCON, 0)
        chip.hardwareReset()
        expect(spi.rcr(R.ESTAT) & R.ESTAT_CLKRDY).toBe(0)
        clock.advanceUs(300)
        expect(spi.rcr(R.ESTAT) & R.ESTAT_CLKRDY).toBe(R.ESTAT_CLKRDY)
        expect(spi.readReg(R.ERXFCON)).toBe(0xa1)
        expect([...chip.peekBuffer(0x100, 3)]).toEqual([1, 2, 3])
        expect(chip.stats.resets).toBe(1)
    })

    test("ERXRDPTL is latched until ERXRDPTH is written", () => {
        const { spi, clock } = setup()
        clock.advanceUs(300)
        spi.writeReg(R.ERXRDPTL, 0x33)
        expect(spi.readReg16(R.ERXRDPTL)).toBe(0x05fa)
        spi.writeReg(R.ERXRDPTH, 0x01)
        expect(spi.readReg16(R.ERXRDPTL)).toBe(0x0133)
        // Writing only the high byte uses the last latched low byte.
        spi.writeReg(R.ERXRDPTH, 0x02)
        expect(spi.readReg16(R.ERXRDPTL)).toBe(0x0233)
    })

    test("pointer registers keep 13 bits", () => {
        const { spi, clock } = setup()
        clock.advanceUs(300)
        spi.writeReg16(R.EWRPTL, 0xffff)
        expect(spi.readReg16(R.EWRPTL)).toBe(0x1fff)
    })
})

describe("buffer memory and pointer wrap", () => {
    test("WBM wraps EWRPT 0x1FFF → 0 and RBM reads it back", () => {
        const { chip, spi, clock } = setup()
        clock.advanceUs(300)
        const data = Buffer.from([...Array(16).keys()].map((i) => i + 1))
        spi.writeReg16(R.EWRPTL, 0x1ff8)
        spi.wbm(data)
        expect(spi.readReg16(R.EWRPTL)).toBe(0x0008)
        expect(chip.peekBuffer(0x1ff8, 16).equals(data)).toBe(true)
        expect(chip.peekBuffer(0, 8).equals(data.subarray(8))).toBe(true)
        // ERXND = 0x1FFF (reset), so reading across 0x1FFF wraps to ERXST = 0x05FA.
        spi.writeReg16(R.ERXNDL, 0x0fff)
        spi.writeReg16(R.ERDPTL, 0x1ff8)
        expect(spi.rbm(16).equals(data)).toBe(true)
        expect(spi.readReg16(R.ERDPTL)).toBe(0x0008)
        expect(chip.violations).toEqual([])
    })

    test("RBM wraps ERXND → ERXST inside the ring", () => {
        const { chip, spi, clock } = setup()
        clock.advanceUs(300)
        spi.writeReg16(R.ERXSTL, 0x0000)
        spi.writeReg16(R.ERXNDL, 0x0fff)
        chip.pokeBuffer(0x0ffe, Buffer.from([1, 2, 3]))
        chip.pokeBuffer(0x0000, Buffer.from([4, 5]))
        spi.writeReg16(R.ERDPTL, 0x0ffe)
        expect([...spi.rbm(4)]).toEqual([1, 2, 4, 5])
        expect(spi.readReg16(R.ERDPTL)).toBe(0x0002)
    })

    test("without AUTOINC the pointers stay put", () => {
        const { chip, spi, clock } = setup()
        clock.advanceUs(300)
        spi.bfc(R.ECON2, R.ECON2_AUTOINC)
        chip.pokeBuffer(0x100, Buffer.from([9, 8, 7]))
        spi.writeReg16(R.ERDPTL, 0x100)
        expect([...spi.rbm(3)]).toEqual([9, 9, 9])
        spi.writeReg16(R.EWRPTL, 0x200)
        spi.wbm(Buffer.from([1, 2, 3]))
        expect(chip.peekBuffer(0x200, 2)).toEqual(Buffer.from([3, 0]))
    })

    test("bulk WBM through transfer() matches byte-by-byte exchange()", () => {
        fc.assert(
            fc.property(fc.integer({ min: 0, max: 0x1fff }), fc.uint8Array({ minLength: 1, maxLength: 9000 }), (start, data) => {
                const mems: Buffer[] = []
                const ptrs: number[] = []
                for (const bulk of [true, false]) {
                    const { chip, spi, clock } = setup()
                    clock.advanceUs(300)
                    spi.writeReg16(R.EWRPTL, start)
                    const buf = Buffer.concat([Buffer.from([0x7a]), Buffer.from(data)])
                    chip.select()
                    if (bulk) chip.transfer(buf, 0, buf.length)
                    else for (let i = 0; i < buf.length; i++) buf[i] = chip.exchange(buf[i])
                    chip.deselect()
                    mems.push(chip.peekBuffer(0, 0x2000))
                    ptrs.push(spi.readReg16(R.EWRPTL))
                    expect(chip.stats.spiBytes).toBeGreaterThanOrEqual(buf.length)
                }
                expect(mems[0].equals(mems[1])).toBe(true)
                expect(ptrs[0]).toBe(ptrs[1])
                expect(ptrs[0]).toBe((start + data.length) & 0x1fff)
            }),
            { numRuns: 40 },
        )
    })

    test("bulk transfer() gives the same bytes and pointers as byte-by-byte exchange()", () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 0, max: 0x1fff }), fc.integer({ min: 0, max: 0x1fff }),
                fc.integer({ min: 0, max: 0x1fff }), fc.integer({ min: 1, max: 9000 }),
                (st, nd, start, len) => {
                    const pattern = Buffer.alloc(0x2000)
                    for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 31 + (i >> 8)) & 0xff
                    const runs: { bytes: Buffer; ptr: number }[] = []
                    for (const bulk of [true, false]) {
                        const { chip, spi, clock } = setup()
                        clock.advanceUs(300)
                        chip.pokeBuffer(0, pattern)
                        spi.writeReg16(R.ERXSTL, st)
                        spi.writeReg16(R.ERXNDL, nd)
                        spi.writeReg16(R.ERDPTL, start)
                        spi.bank(0)
                        const buf = Buffer.alloc(len + 1)
                        buf[0] = 0x3a
                        chip.select()
                        if (bulk) chip.transfer(buf, 0, buf.length)
                        else for (let i = 0; i < buf.length; i++) buf[i] = chip.exchange(buf[i])
                        chip.deselect()
                        runs.push({ bytes: buf.subarray(1), ptr: spi.readReg16(R.ERDPTL) })
                    }
                    expect(runs[0].bytes.equals(runs[1].bytes)).toBe(true)
                    expect(runs[0].ptr).toBe(runs[1].ptr)
                },
            ),
            { numRuns: 60 },
        )
    })
})

describe("receive ring (section 7.2)", () => {
    test("header, frame and FCS land byte-exact at ERXWRPT; EPKTCNT and PKTIF follow", () => {
        const { chip, spi } = ready()
        const f = frame(BCAST, 101)
        expect(chip.deliverFromWire(f)).toBe(true)
        expect(spi.readReg(R.EPKTCNT)).toBe(1)
        expect(spi.rcr(R.EIR) & R.EIR_PKTIF).toBe(R.EIR_PKTIF)
        const h = chip.peekBuffer(0, 6)
        const next = h[0] | (h[1] << 8)
        const count = h[2] | (h[3] << 8)
        const rsv = h[4] | (h[5] << 8)
        expect(count).toBe(105)
        expect(next).toBe(6 + 105 + 1) // padded to an even address
        expect(rsv & 0x80).toBe(0x80) // bit 23 received OK
        expect(rsv & 0x200).toBe(0x200) // bit 25 broadcast
        expect(rsv & 0x100).toBe(0) // bit 24 multicast
        expect(chip.peekBuffer(6, 105).equals(Buffer.concat([f, fcsOf(f)]))).toBe(true)
        expect(spi.readReg16(R.ERXWRPTL)).toBe(next)
        expect(chip.stats.rxAccepted).toBe(1)
    })

    test("short frames arrive padded to 60 bytes (as the sender's MAC pads them)", () => {
        const { chip, spi, ring } = ready()
        const f = frame(MAC, 42)
        chip.deliverFromWire(f)
        const p = rawReceive(spi, ring)
        expect(p.byteCount).toBe(64)
        expect(p.frame.subarray(0, 42).equals(f)).toBe(true)
        expect(p.frame.subarray(42).equals(Buffer.alloc(18))).toBe(true)
        expect(chip.violations).toEqual([])
    })

    test("packets wrap around the end of a small ring byte-exact", () => {
        const { chip, spi, ring } = ready({ rxEnd: 0x03ff })
        const got: Buffer[] = []
        const want: Buffer[] = []
        for (let i = 0; i < 40; i++) {
            const f = frame(MAC, 60 + ((i * 37) % 300), i)
            want.push(f)
            expect(chip.deliverFromWire(f)).toBe(true)
            got.push(Buffer.from(rawReceive(spi, ring).frame))
        }
        expect(got).toEqual(want)
        expect(chip.violations).toEqual([])
        expect(spi.readReg(R.EPKTCNT)).toBe(0)
    })

    test("the hardware never writes onto ERXRDPT: overflow drops the packet, sets RXERIF, flags the next one", () => {
        const { chip, spi, ring } = ready({ rxEnd: 0x03ff })
        let stored = 0
        while (chip.deliverFromWire(frame(MAC, 200))) stored++
        expect(stored).toBe(Math.floor(0x3ff / 210))
        expect(chip.stats.rxOverflow).toBe(1)
        expect(spi.rcr(R.EIR) & R.EIR_RXERIF).toBe(R.EIR_RXERIF)
        expect(spi.readReg(R.EPKTCNT)).toBe(stored)
        // Nothing was written past the last packet up to ERXRDPT.
        const wp = spi.readReg16(R.ERXWRPTL)
        const rest = chip.peekBuffer(wp, 0x3ff - wp)
        expect(rest.every((b) => b === 0)).toBe(true)
        for (let i = 0; i < stored; i++) expect(rawReceive(spi, ring).status & (1 << 16)).toBe(0)
        spi.bfc(R.EIR, R.EIR_RXERIF)
        expect(chip.deliverFromWire(frame(MAC, 100))).toBe(true)
        const p = rawReceive(spi, ring)
        expect(p.status & (1 << 16)).toBe(1 << 16) // RSV bit 16: a packet was dropped since the last one
        expect(chip.violations).toEqual([])
    })

    test("a packet that would reach ERXRDPT exactly is refused; one that stops short is stored", () => {
        // 70 is even (errata 14, flagged) but still not written onto.
        for (const [rdpt, ok] of [[69, false], [70, true], [71, true]] as const) {
            const { chip, spi } = ready()
            spi.writeReg16(R.ERXRDPTL, rdpt)
            // 60-byte frame: 6 header + 60 + 4 FCS = 70 bytes at 0x0000..0x0045.
            expect(chip.deliverFromWire(frame(MAC, 60))).toBe(ok)
            expect(chip.peekBuffer(rdpt, 1)[0]).toBe(0)
        }
    })

    test("EPKTCNT stops at 255: the next packet is dropped with RXERIF", () => {
        const { chip, spi } = ready()
        for (let i = 0; i < 255; i++) {
            expect(chip.deliverFromWire(frame(MAC, 60))).toBe(true)
            // Free the space but keep the count (no PKTDEC).
            const wp = spi.readReg16(R.ERXWRPTL)
            spi.writeReg16(R.ERXRDPTL, wp === 0 ? 0x19ff : wp - 1)
        }
        expect(spi.readReg(R.EPKTCNT)).toBe(255)
        expect(chip.deliverFromWire(frame(MAC, 60))).toBe(false)
        expect(spi.rcr(R.EIR) & R.EIR_RXERIF).toBe(R.EIR_RXERIF)
        expect(chip.stats.rxOverflow).toBe(1)
    })

    test("nothing is stored while ECON1.RXEN or MACON1.MARXEN is off", () => {
        const { chip, spi } = ready()
        spi.bfc(R.ECON1, R.ECON1_RXEN)
        expect(chip.deliverFromWire(frame(MAC, 60))).toBe(false)
        spi.bfs(R.ECON1, R.ECON1_RXEN)
        spi.writeReg(R.MACON1, 0)
        expect(chip.deliverFromWire(frame(MAC, 60))).toBe(false)
        expect(chip.stats.rxDisabled).toBe(2)
        expect(spi.readReg(R.EPKTCNT)).toBe(0)
    })

    test("ECON1.RXRST resets the receive logic: EPKTCNT 0, RXEN off", () => {
        const { chip, spi } = ready()
        chip.deliverFromWire(frame(MAC, 60))
        chip.deliverFromWire(frame(MAC, 60))
        spi.bfs(R.ECON1, R.ECON1_RXRST)
        spi.bfc(R.ECON1, R.ECON1_RXRST)
        expect(spi.readReg(R.EPKTCNT)).toBe(0)
        expect(spi.rcr(R.ECON1) & R.ECON1_RXEN).toBe(0)
        expect(chip.deliverFromWire(frame(MAC, 60))).toBe(false)
        spi.bfs(R.ECON1, R.ECON1_RXEN)
        expect(chip.deliverFromWire(frame(MAC, 60))).toBe(true)
        expect(chip.peekBuffer(0, 2).readUInt16LE(0)).toBe(70)
    })

    test("frames longer than MAMXFL are dropped unless MACON3.HFRMEN", () => {
        const { chip, spi } = ready()
        expect(chip.deliverFromWire(frame(MAC, 1514))).toBe(true)
        expect(chip.deliverFromWire(frame(MAC, 1515))).toBe(false)
        expect(chip.stats.rxTooLong).toBe(1)
        spi.bfc(R.ECON1, R.ECON1_RXEN)
        spi.writeReg(R.MACON3, spi.readReg(R.MACON3) | R.MACON3_HFRMEN)
        spi.bfs(R.ECON1, R.ECON1_RXEN)
        expect(chip.deliverFromWire(frame(MAC, 1515))).toBe(true)
    })

    test("RSV reports multicast, length-check errors and control frames", () => {
        const { chip, spi, ring } = ready({ erxfcon: 0 })
        chip.deliverFromWire(frame([0x01, 0x00, 0x5e, 0, 0, 1], 80))
        let p = rawReceive(spi, ring)
        expect(p.status & (1 << 24)).toBe(1 << 24)
        expect(p.status & (1 << 25)).toBe(0)
        // 802.3 length field 20 with 66 data bytes: length check error (FRMLNEN is set).
        chip.deliverFromWire(frame(MAC, 80, 1, 20))
        p = rawReceive(spi, ring)
        expect(p.status & (1 << 21)).toBe(1 << 21)
        expect(p.status & (1 << 22)).toBe(0)
        // Type field: length out of range, no length check.
        chip.deliverFromWire(frame(MAC, 80, 1, 0x0800))
        p = rawReceive(spi, ring)
        expect(p.status & (3 << 21)).toBe(1 << 22)
    })
})

describe("receive filters (section 8)", () => {
    function accepts(erxfcon: number, dst: number[], setupRegs?: (spi: RawSpi) => void): boolean {
        const { chip, spi } = ready({ erxfcon })
        if (setupRegs) {
            spi.bfc(R.ECON1, R.ECON1_RXEN)
            setupRegs(spi)
            spi.bfs(R.ECON1, R.ECON1_RXEN)
        }
        return chip.deliverFromWire(frame(dst, 64))
    }
    const OTHER = [0x02, 0x99, 0x99, 0x99, 0x99, 0x99]
    const MCAST = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb]

    test("unicast, broadcast, multicast and promiscuous", () => {
        const UC = R.ERXFCON_UCEN | R.ERXFCON_CRCEN
        expect(accepts(UC, MAC)).toBe(true)
        expect(accepts(UC, OTHER)).toBe(false)
        expect(accepts(UC, BCAST)).toBe(false)
        expect(accepts(UC | R.ERXFCON_BCEN, BCAST)).toBe(true)
        expect(accepts(UC | R.ERXFCON_BCEN, MCAST)).toBe(false)
        expect(accepts(UC | R.ERXFCON_MCEN, MCAST)).toBe(true)
        expect(accepts(0, OTHER)).toBe(true)
        expect(accepts(R.ERXFCON_CRCEN, OTHER)).toBe(true)
    })

    test("ANDOR = 1 needs every enabled filter", () => {
        const AND = R.ERXFCON_ANDOR | R.ERXFCON_UCEN | R.ERXFCON_MCEN
        expect(accepts(AND, MAC)).toBe(false)
        expect(accepts(R.ERXFCON_ANDOR | R.ERXFCON_MCEN | R.ERXFCON_BCEN, BCAST)).toBe(true)
    })

    test("hash table: CRC-32 bits 28:23 of the destination pick an EHT bit", () => {
        const ptr = (crc32(Buffer.from(MCAST), 0, 6) >>> 23) & 0x3f
        const set = (spi: RawSpi) => spi.writeReg(R.EHT0 + (ptr >> 3), 1 << (ptr & 7))
        const other = (spi: RawSpi) => spi.writeReg(R.EHT0 + (((ptr + 1) & 63) >> 3), 1 << ((ptr + 1) & 7))
        expect(accepts(R.ERXFCON_HTEN, MCAST, set)).toBe(true)
        expect(accepts(R.ERXFCON_HTEN, MCAST, other)).toBe(false)
    })

    test("pattern match: masked bytes at EPMO must checksum to EPMCS", () => {
        const f = frame(OTHER, 64)
        // Select bytes 14 and 15 of the frame: checksum = ~(f[14] << 8 | f[15]).
        const cs = ~((f[14] << 8) | f[15]) & 0xffff
        const regs = (good: boolean) => (spi: RawSpi) => {
            spi.writeReg16(R.EPMOL, 0)
            spi.writeReg(R.EPMM0 + 1, 0xc0)
            spi.writeReg16(R.EPMCSL, good ? cs : cs ^ 1)
        }
        expect(accepts(R.ERXFCON_PMEN, OTHER, regs(true))).toBe(true)
        expect(accepts(R.ERXFCON_PMEN, OTHER, regs(false))).toBe(false)
    })

    test("bad FCS: discarded with CRCEN, stored with RSV bit 20 without it", () => {
        const a = ready()
        a.chip.faults.crcErrorNext = true
        expect(a.chip.deliverFromWire(frame(MAC, 64))).toBe(false)
        expect(a.chip.stats.rxCrcErrors).toBe(1)
        expect(a.chip.deliverFromWire(frame(MAC, 64))).toBe(true) // fault was one-shot
        const b = ready({ erxfcon: R.ERXFCON_UCEN })
        b.chip.faults.crcErrorNext = true
        expect(b.chip.deliverFromWire(frame(MAC, 64))).toBe(true)
        const p = rawReceive(b.spi, b.ring)
        expect(p.status & (1 << 20)).toBe(1 << 20)
        expect(p.status & (1 << 23)).toBe(0)
    })
})

describe("transmit (section 7.1)", () => {
    test("frame leaves after the 10BASE-T frame time, then TXRTS clears, TXIF sets and the TSV is written", () => {
        const { chip, spi, ring, sent, clock } = ready()
        const f = frame(BCAST, 42)
        spi.writeReg16(R.EWRPTL, ring.txStart)
        spi.wbm(Buffer.concat([Buffer.from([0]), f]))
        spi.writeReg16(R.ETXNDL, ring.txStart + 42)
        spi.bfs(R.ECON1, R.ECON1_TXRTS)
        const t0 = clock.nowUs()
        // Padded to 60 + FCS 4, plus preamble 8 and gap 12: 84 bytes × 0.8 µs.
        const frameTime = 84 * 0.8
        while (clock.nowUs() < t0 + frameTime - 2) {
            expect(spi.rcr(R.ECON1) & R.ECON1_TXRTS).toBe(R.ECON1_TXRTS)
            expect(sent.length).toBe(0)
            clock.advanceUs(1)
        }
        clock.advanceUs(2)
        expect(spi.rcr(R.ECON1) & R.ECON1_TXRTS).toBe(0)
        expect(spi.rcr(R.EIR) & R.EIR_TXIF).toBe(R.EIR_TXIF)
        expect(sent.length).toBe(1)
        expect(sent[0].equals(Buffer.concat([f, Buffer.alloc(18)]))).toBe(true)
        spi.writeReg16(R.ERDPTL, ring.txStart + 43)
        const tsv = spi.rbm(7)
        expect(tsv.readUInt16LE(0)).toBe(64) // byte count
        expect(tsv[2] & 0x80).toBe(0x80) // done
        expect(tsv[3] & 0x02).toBe(0x02) // broadcast
        expect(tsv[3] & 0x20).toBe(0) // no late collision
        expect(tsv.readUInt16LE(4)).toBe(64)
        expect(chip.stats.txFrames).toBe(1)
        expect(chip.violations).toEqual([])
    })

    test("padding follows MACON3.PADCFG and the per-packet control byte", () => {
        const cases: { pad: number; control: number; len: number; out: number }[] = [
            { pad: 0x00, control: 0, len: 42, out: 42 }, // no padding
            { pad: 0x20, control: 0, len: 42, out: 60 },
            { pad: 0x60, control: 0, len: 42, out: 64 },
            { pad: 0xa0, control: 0, len: 42, out: 60 }, // auto: not VLAN
            { pad: 0x00, control: R.TXCTRL_POVERRIDE | R.TXCTRL_PPADEN | R.TXCTRL_PCRCEN, len: 42, out: 60 },
            { pad: 0x20, control: R.TXCTRL_POVERRIDE | R.TXCTRL_PCRCEN, len: 42, out: 42 },
        ]
        for (const c of cases) {
            const { spi, ring, sent, chip } = ready({ macon3Pad: c.pad })
            const tsv = rawSend(spi, ring, frame(MAC, c.len), c.control)
            expect(sent.length).toBe(1)
            expect(sent[0].length).toBe(c.out)
            expect(tsv.readUInt16LE(0)).toBe(c.out + 4)
            expect(chip.violations).toEqual([])
        }
        // VLAN-tagged frame with PADCFG 101 pads to 64.
        const v = ready({ macon3Pad: 0xa0 })
        rawSend(v.spi, v.ring, frame(MAC, 42, 1, 0x8100))
        expect(v.sent[0].length).toBe(64)
    })

    test("without PCRCEN the last 4 bytes must be a valid FCS: good ones go out, bad ones are flagged", () => {
        const { spi, ring, sent, chip } = ready()
        const f = frame(MAC, 60)
        const control = R.TXCTRL_POVERRIDE
        let tsv = rawSend(spi, ring, Buffer.concat([f, fcsOf(f)]), control)
        expect(sent.length).toBe(1)
        expect(sent[0].equals(f)).toBe(true)
        expect(tsv[2] & 0x10).toBe(0)
        tsv = rawSend(spi, ring, Buffer.concat([f, Buffer.alloc(4)]), control)
        expect(tsv[2] & 0x10).toBe(0x10) // TSV bit 20 CRC error
        expect(sent.length).toBe(1)
        expect(chip.stats.txBadCrc).toBe(1)
    })

    test("a frame over MAMXFL is aborted as a giant (TSV bit 30)", () => {
        const { spi, ring, sent, chip } = ready()
        const tsv = rawSend(spi, ring, frame(MAC, 1515))
        expect(sent.length).toBe(0)
        expect(tsv[3] & 0x40).toBe(0x40)
        expect(tsv[2] & 0x80).toBe(0)
        expect(spi.rcr(R.EIR) & R.EIR_TXERIF).toBe(R.EIR_TXERIF)
        expect(spi.rcr(R.ESTAT) & R.ESTAT_TXABRT).toBe(R.ESTAT_TXABRT)
        expect(chip.stats.txAborts).toBe(1)
        // PHUGEEN lets it through.
        rawSend(spi, ring, frame(MAC, 1515), R.TXCTRL_POVERRIDE | R.TXCTRL_PCRCEN | R.TXCTRL_PHUGEEN)
        expect(sent.length).toBe(1)
    })

    test("clearing TXRTS cancels; TXRST drops the frame silently", () => {
        const { spi, ring, sent, clock } = ready()
        spi.writeReg16(R.EWRPTL, ring.txStart)
        spi.wbm(Buffer.concat([Buffer.from([0]), frame(MAC, 100)]))
        spi.writeReg16(R.ETXNDL, ring.txStart + 100)
        spi.bfs(R.ECON1, R.ECON1_TXRTS)
        spi.bfc(R.ECON1, R.ECON1_TXRTS)
        clock.advanceUs(1000)
        expect(sent.length).toBe(0)
        expect(spi.rcr(R.EIR) & (R.EIR_TXIF | R.EIR_TXERIF)).toBe(R.EIR_TXIF | R.EIR_TXERIF)
        spi.bfc(R.EIR, 0xff)
        spi.bfs(R.ECON1, R.ECON1_TXRTS)
        spi.bfs(R.ECON1, R.ECON1_TXRST)
        spi.bfc(R.ECON1, R.ECON1_TXRST)
        clock.advanceUs(1000)
        expect(sent.length).toBe(0)
        expect(spi.rcr(R.ECON1) & R.ECON1_TXRTS).toBe(0)
        expect(spi.rcr(R.EIR) & R.EIR_TXIF).toBe(0)
    })

    test("link down: the frame completes but reaches no wire", () => {
        const { chip, spi, ring, sent } = ready()
        chip.setLink(false)
        const tsv = rawSend(spi, ring, frame(MAC, 60))
        expect(tsv[2] & 0x80).toBe(0x80)
        expect(sent.length).toBe(0)
        expect(chip.stats.txNotOnWire).toBe(1)
    })
})

describe("MII and PHY (section 3.3)", () => {
    test("MISTAT.BUSY stays set for 10.24 µs of a PHY read", () => {
        const { chip, spi, clock } = ready()
        spi.writeReg(R.MIREGADR, R.PHID1)
        const t0 = clock.nowUs() // the command starts (CS low) now
        spi.writeReg(R.MICMD, R.MICMD_MIIRD)
        expect(spi.readReg(R.MISTAT) & R.MISTAT_BUSY).toBe(R.MISTAT_BUSY)
        clock.advanceUs(t0 + 10.23 - clock.nowUs())
        expect(spi.rcrMac(0x0a) & R.MISTAT_BUSY).toBe(R.MISTAT_BUSY)
        clock.advanceUs(t0 + 10.25 - clock.nowUs())
        expect(spi.rcrMac(0x0a) & R.MISTAT_BUSY).toBe(0)
        spi.writeReg(R.MICMD, 0)
        expect(spi.readReg(R.MIRDL) | (spi.readReg(R.MIRDH) << 8)).toBe(0x0083)
        expect(chip.violations).toEqual([])
    })

    test("PHY write takes effect when BUSY clears; duplex shows in PHSTAT2.DPXSTAT", () => {
        const { spi } = ready({ fullDuplex: false })
        expect(spi.phyRead(R.PHSTAT2) & R.PHSTAT2_DPXSTAT).toBe(0)
        spi.writeReg(R.MIREGADR, R.PHCON1)
        spi.writeReg(R.MIWRL, 0x00)
        spi.writeReg(R.MIWRH, 0x01)
        expect(spi.readReg(R.MISTAT) & R.MISTAT_BUSY).toBe(R.MISTAT_BUSY)
        spi.waitUs(11)
        expect(spi.phyRead(R.PHCON1)).toBe(R.PHCON1_PDPXMD)
        expect(spi.phyRead(R.PHSTAT2) & R.PHSTAT2_DPXSTAT).toBe(R.PHSTAT2_DPXSTAT)
    })

    test("link: LSTAT is live, LLSTAT latches low, LINKIF needs PHIE and clears on a PHIR read", () => {
        const { chip, spi } = ready()
        expect(spi.phyRead(R.PHSTAT2) & R.PHSTAT2_LSTAT).toBe(R.PHSTAT2_LSTAT)
        spi.phyRead(R.PHSTAT1)
        expect(spi.phyRead(R.PHSTAT1) & R.PHSTAT1_LLSTAT).toBe(R.PHSTAT1_LLSTAT)
        chip.setLink(false)
        expect(spi.rcr(R.EIR) & R.EIR_LINKIF).toBe(0) // PHIE not enabled
        expect(spi.phyRead(R.PHIR) & R.PHIR_PLNKIF).toBe(R.PHIR_PLNKIF)
        chip.setLink(true)
        expect(spi.phyRead(R.PHSTAT2) & R.PHSTAT2_LSTAT).toBe(R.PHSTAT2_LSTAT)
        expect(spi.phyRead(R.PHSTAT1) & R.PHSTAT1_LLSTAT).toBe(0) // latched low
        expect(spi.phyRead(R.PHSTAT1) & R.PHSTAT1_LLSTAT).toBe(R.PHSTAT1_LLSTAT)
        spi.phyWrite(R.PHIE, R.PHIE_PGEIE | R.PHIE_PLNKIE)
        spi.phyRead(R.PHIR)
        chip.setLink(false)
        expect(spi.rcr(R.EIR) & R.EIR_LINKIF).toBe(R.EIR_LINKIF)
        spi.bfs(R.EIE, R.EIE_INTIE | 0x10)
        expect(chip.intAsserted()).toBe(true)
        expect(spi.rcr(R.ESTAT) & R.ESTAT_INT).toBe(R.ESTAT_INT)
        spi.bfc(R.EIR, R.EIR_LINKIF) // read-only: stays
        expect(spi.rcr(R.EIR) & R.EIR_LINKIF).toBe(R.EIR_LINKIF)
        expect(spi.phyRead(R.PHIR) & R.PHIR_PGIF).toBe(R.PHIR_PGIF)
        expect(spi.rcr(R.EIR) & R.EIR_LINKIF).toBe(0)
        expect(chip.intAsserted()).toBe(false)
        expect(chip.deliverFromWire(frame(MAC, 60))).toBe(false)
        expect(chip.stats.rxNoLink).toBe(1)
        expect(chip.violations).toEqual([])
    })

    test("MIISCAN keeps MIRD updated with the selected register", () => {
        const { chip, spi } = ready()
        spi.writeReg(R.MIREGADR, R.PHSTAT2)
        spi.writeReg(R.MICMD, R.MICMD_MIISCAN)
        const st = spi.readReg(R.MISTAT)
        expect(st & (R.MISTAT_SCAN | R.MISTAT_NVALID | R.MISTAT_BUSY)).toBe(R.MISTAT_SCAN | R.MISTAT_NVALID | R.MISTAT_BUSY)
        spi.waitUs(11)
        expect(spi.readReg(R.MISTAT) & R.MISTAT_NVALID).toBe(0)
        expect(spi.readReg(R.MIRDH) & (R.PHSTAT2_LSTAT >> 8)).toBe(R.PHSTAT2_LSTAT >> 8)
        chip.setLink(false)
        expect(spi.readReg(R.MIRDH) & (R.PHSTAT2_LSTAT >> 8)).toBe(0)
        spi.writeReg(R.MICMD, 0)
        expect(spi.readReg(R.MISTAT)).toBe(0)
        expect(chip.violations).toEqual([])
    })
})

describe("DMA (section 13)", () => {
    test("copy follows the ring on the source side, takes time, then sets DMAIF", () => {
        const { chip, spi, clock } = ready({ rxEnd: 0x00ff })
        chip.pokeBuffer(0xf0, Buffer.from([...Array(16).keys()]))
        chip.pokeBuffer(0x00, Buffer.from([16, 17, 18, 19]))
        spi.writeReg16(R.EDMASTL, 0xf0)
        spi.writeReg16(R.EDMANDL, 0x03)
        spi.writeReg16(R.EDMADSTL, 0x1000)
        spi.bfc(R.ECON1, R.ECON1_CSUMEN)
        spi.bfs(R.ECON1, R.ECON1_DMAST)
        expect(spi.rcr(R.ECON1) & R.ECON1_DMAST).toBe(R.ECON1_DMAST)
        clock.advanceUs(5)
        expect(spi.rcr(R.ECON1) & R.ECON1_DMAST).toBe(0)
        expect(spi.rcr(R.EIR) & R.EIR_DMAIF).toBe(R.EIR_DMAIF)
        expect([...chip.peekBuffer(0x1000, 20)]).toEqual([...Array(20).keys()])
        expect(chip.violations).toEqual([])
    })

    test("DMA and transmission share the memory port: each waits for the other", () => {
        const { chip, spi, ring, sent, clock } = ready()
        // A frame in flight: the DMA started after TXRTS waits until the frame is out.
        spi.writeReg16(R.EWRPTL, ring.txStart)
        spi.wbm(Buffer.concat([Buffer.from([0]), frame(MAC, 1000)]))
        spi.writeReg16(R.ETXNDL, ring.txStart + 1000)
        spi.writeReg16(R.EDMASTL, 0x0000)
        spi.writeReg16(R.EDMANDL, 0x00ff)
        spi.writeReg16(R.EDMADSTL, 0x1f00)
        const tTx = clock.nowUs()
        spi.bfs(R.ECON1, R.ECON1_TXRTS)
        spi.bfs(R.ECON1, R.ECON1_DMAST)
        clock.advanceUs(100)
        expect(spi.rcr(R.ECON1) & (R.ECON1_TXRTS | R.ECON1_DMAST)).toBe(R.ECON1_TXRTS | R.ECON1_DMAST)
        const frameTime = (8 + 1004 + 12) * 0.8
        clock.advanceUs(tTx + frameTime + 5 - clock.nowUs())
        expect(spi.rcr(R.ECON1) & (R.ECON1_TXRTS | R.ECON1_DMAST)).toBe(R.ECON1_DMAST) // DMA began as TXRTS cleared
        expect(sent.length).toBe(1)
        clock.advanceUs(256 * 0.08)
        expect(spi.rcr(R.ECON1) & R.ECON1_DMAST).toBe(0)
        expect(chip.peekBuffer(0x1f00, 256).equals(chip.peekBuffer(0, 256))).toBe(true)
        // A DMA running: the frame requested meanwhile waits for it.
        spi.writeReg16(R.EDMANDL, 0x0fff)
        spi.bfs(R.ECON1, R.ECON1_DMAST)
        spi.bfc(R.EIR, R.EIR_TXIF)
        spi.bfs(R.ECON1, R.ECON1_TXRTS)
        const t0 = clock.nowUs()
        clock.advanceUs(4096 * 0.08 - 5)
        expect(spi.rcr(R.ECON1) & R.ECON1_DMAST).toBe(R.ECON1_DMAST)
        clock.advanceUs(10)
        expect(spi.rcr(R.ECON1) & R.ECON1_DMAST).toBe(0)
        while (spi.rcr(R.ECON1) & R.ECON1_TXRTS) clock.advanceUs(1)
        expect(clock.nowUs() - t0).toBeGreaterThan(4096 * 0.08 + (8 + 1004 + 12) * 0.8 - 2)
        expect(sent.length).toBe(2)
        expect(chip.violations).toEqual([])
    })

    test("checksum of 89 AB CD is A953 (section 13.2)", () => {
        const { chip, spi, clock } = ready()
        chip.pokeBuffer(0x1c00, Buffer.from([0x89, 0xab, 0xcd]))
        spi.writeReg16(R.EDMASTL, 0x1c00)
        spi.writeReg16(R.EDMANDL, 0x1c02)
        spi.bfs(R.ECON1, R.ECON1_CSUMEN | R.ECON1_DMAST)
        clock.advanceUs(5)
        expect(spi.rcr(R.ECON1) & R.ECON1_DMAST).toBe(0)
        expect(spi.readReg16(R.EDMACSL)).toBe(0xa953)
        expect(spi.readReg(R.EDMACSH)).toBe(0xa9)
    })
})

describe("reference procedures", () => {
    test("init, receive and send by the datasheet leave no violations", () => {
        const { chip, spi, ring, sent } = ready()
        for (let i = 0; i < 50; i++) {
            const f = frame(i % 2 ? MAC : BCAST, 60 + i * 29, i)
            chip.deliverFromWire(f)
            expect(rawReceive(spi, ring).frame.equals(f)).toBe(true)
            expect(rawSend(spi, ring, f)[2] & 0x80).toBe(0x80)
            expect(sent[i].equals(f)).toBe(true)
        }
        expect(chip.violations).toEqual([])
    })
})
