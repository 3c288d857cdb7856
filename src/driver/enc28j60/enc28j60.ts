// The ENC28J60 as a NetDevice: bring-up, and the entry points the stack calls.
// Receiving is in rx.ts, transmitting in tx.ts, the SPI commands in spi-commands.ts.
//
// Calls must not overlap (the stack calls from one loop); an overlapping call is
// refused and counted rather than interleaving SPI commands. receive, transmit
// and linkUp never throw: bus errors are caught and counted.
//
// A chip reset underneath us (brown-out, a glitch on RESET, a re-plugged module) returns
// every register to its power-on value and the chip goes silent. receive() notices it
// (checkChip, at most once a second) and runs the bring-up again.

import { NetDevice } from "../net-device"
import { SpiBus } from "../spi-bus"
import { Enc28j60Counters, newCounters } from "./counters"
import { Enc28j60Phy } from "./phy"
import { Enc28j60Rx } from "./rx"
import { Enc28j60Spi } from "./spi-commands"
import { DriverTiming } from "./timing"
import { Enc28j60Tx, TX_MEMORY } from "./tx"
import {
    BUFFER_END,
    ECON1_RXEN,
    ECON2_AUTOINC,
    ECON2_PWRSV,
    EIR_DMAIF,
    EIR_LINKIF,
    EIR_RXERIF,
    EIR_TXERIF,
    EIR_TXIF,
    ERXFCON_BCEN,
    ERXFCON_CRCEN,
    ERXFCON_UCEN,
    FCS_LEN,
    MACON1_MARXEN,
    MACON1_RXPAUS,
    MACON1_TXPAUS,
    MACON3_FRMLNEN,
    MACON3_FULDPX,
    MACON3_PADCFG0,
    MACON3_TXCRCEN,
    MACON4_DEFER,
    MAX_FRAME,
    MIN_FRAME,
    PHCON1,
    PHCON1_PDPXMD,
    PHCON2,
    PHCON2_HDLDIS,
    PHIE,
    PHIE_PGEIE,
    PHIE_PLNKIE,
    PHIR,
    PHSTAT2,
    PHSTAT2_LSTAT,
    RX_HEADER_LEN,
    Reg,
} from "./registers"

export type { DriverTiming } from "./timing"
export type { Enc28j60Counters } from "./counters"

export interface Enc28j60Options {
    /** Our Ethernet address, 6 bytes. */
    mac: number[]
    /**
     * Full duplex; default half. The chip cannot auto-negotiate, so an auto-negotiating
     * switch port falls back to half duplex (parallel detection): full duplex here would
     * mismatch it. Set true only against a port forced to full duplex.
     */
    fullDuplex?: boolean
    /**
     * Last byte of the receive ring (odd); the two transmit areas follow it. Default 0x140D:
     * a 5,134-byte ring (three full-size packets), then 0x600 + 1,522 bytes for transmit.
     */
    rxRingEnd?: number
    /** Retransmissions of one frame after aborts or late collisions. Default 16. */
    maxTxRetries?: number
    /** How long a started frame may keep ECON1.TXRTS set. Default 50 ms. */
    txTimeoutMs?: number
    /** How long a PHY access may keep MISTAT.BUSY set. Default 10 ms. */
    phyTimeoutMs?: number
}

/** The two transmit areas at the top of the 8 KB buffer, the receive ring below them. */
const DEFAULT_RX_RING_END = BUFFER_END - TX_MEMORY
const DEFAULT_MAX_TX_RETRIES = 16
const DEFAULT_TX_TIMEOUT_MS = 50
const DEFAULT_PHY_TIMEOUT_MS = 10
/** linkUp() rereads PHSTAT2 at least this often even without EIR.LINKIF. */
const LINK_REFRESH_MS = 1000
/** The ring holds at least two full-size packets. */
const MIN_RX_RING = 2 * (RX_HEADER_LEN + MAX_FRAME + FCS_LEN + 1)
/** Inter-packet gaps for full and half duplex (datasheet 6.5). */
const MABBIPG_FULL = 0x15
const MABBIPG_HALF = 0x12
const MAIPGL_VALUE = 0x12
const MAIPGH_HALF = 0x0c
/** How often receive() checks that the chip still holds our settings. */
const CHIP_CHECK_MS = 1000
/** Longest wait between bring-up attempts while no chip answers (CHIP_CHECK_MS doubled 6 times). */
const CHIP_RETRY_MAX_MS = 64000

/** @devsWhenUsed */
export class Enc28j60 implements NetDevice {
    counters: Enc28j60Counters
    /** EREVID read at init (B1 0x02, B4 0x04, B5 0x05, B7 0x06). */
    revision = 0
    private spi: Enc28j60Spi
    private phy: Enc28j60Phy
    private rx: Enc28j60Rx
    private tx: Enc28j60Tx
    private mac: number[]
    private fullDuplex: boolean
    private ringEnd: number
    private ready = false
    private busy = false
    private link = false
    private linkKnown = false
    private linkCheckedAt = 0
    /** When checkChip next looks (bringUp sets it and resets checkMs). */
    private checkAt: number
    /**
     * checkChip's interval: CHIP_CHECK_MS while the chip is fine; longer (doubling) after a
     * chip reset whose bring-up failed, and then the entry points leave the chip alone.
     */
    private checkMs = CHIP_CHECK_MS

    constructor(bus: SpiBus, private timing: DriverTiming, opts: Enc28j60Options) {
        if (!opts.mac || opts.mac.length !== 6) throw new Error("ENC28J60: mac must have 6 bytes")
        const ringEnd = opts.rxRingEnd ?? DEFAULT_RX_RING_END
        // ERXND odd (errata 14 keeps ERXRDPT odd; ERXND is where it parks), room for both TX areas after it.
        if ((ringEnd & 1) !== 1 || ringEnd + 1 < MIN_RX_RING || ringEnd + TX_MEMORY > BUFFER_END)
            throw new Error("ENC28J60: rxRingEnd must be odd and leave room for TX")
        this.ringEnd = ringEnd
        this.mac = opts.mac
        this.fullDuplex = opts.fullDuplex === true
        const maxRetries = opts.maxTxRetries ?? DEFAULT_MAX_TX_RETRIES
        const txTimeout = opts.txTimeoutMs ?? DEFAULT_TX_TIMEOUT_MS
        const phyTimeout = opts.phyTimeoutMs ?? DEFAULT_PHY_TIMEOUT_MS
        const c = newCounters()
        this.counters = c
        const spi = new Enc28j60Spi(bus, c)
        this.spi = spi
        this.phy = new Enc28j60Phy(spi, timing, c, phyTimeout)
        this.rx = new Enc28j60Rx(spi, c, ringEnd)
        this.tx = new Enc28j60Tx(spi, timing, c, ringEnd + 1, maxRetries, txTimeout)
    }

    /** Resets and configures the chip. Rejects when no chip answers or the PHY does not respond. */
    async init(): Promise<void> {
        if (this.busy) throw new Error("ENC28J60: init during another call")
        this.busy = true
        this.ready = false
        try {
            await this.bringUp()
        } catch (e) {
            this.spi.abort()
            this.busy = false
            throw e
        }
        this.busy = false
        this.ready = true
    }

    private async bringUp(): Promise<void> {
        const spi = this.spi
        const timing = this.timing
        spi.forgetState()
        this.tx.clear()
        this.linkKnown = false
        // errata 19: in power save the chip ignores SRC: leave it and let the regulator settle (>= 300 us).
        const econ2 = await spi.read(Reg.ECON2)
        if ((econ2 & ECON2_PWRSV) !== 0) {
            await spi.clearBits(Reg.ECON2, ECON2_PWRSV)
            await timing.delayMs(1)
        }
        await spi.softReset()
        // errata 2: ESTAT.CLKRDY may be set before the oscillator is stable: wait >= 1 ms instead.
        await timing.delayMs(2)
        const rev = await spi.read(Reg.EREVID)
        if (rev === 0 || rev === 0xff) throw new Error(`ENC28J60: no chip (EREVID reads ${rev})`)
        this.revision = rev
        // After SRC ECON1 is 0 (RXEN off, bank 0); AUTOINC lets RBM/WBM stream.
        await spi.write(Reg.ECON2, ECON2_AUTOINC)
        await this.rx.initRing()
        // ETXST/ETXND are written by tx.ts before each frame (it alternates two areas).
        await spi.write(Reg.ERXFCON, ERXFCON_UCEN | ERXFCON_CRCEN | ERXFCON_BCEN)
        await this.configureMac()
        await this.configurePhy()
        await spi.clearBits(Reg.EIR, EIR_DMAIF | EIR_TXIF | EIR_TXERIF | EIR_RXERIF)
        await this.refreshLink(EIR_LINKIF)
        await spi.setBits(Reg.ECON1, ECON1_RXEN)
        this.checkAt = timing.nowMs() + CHIP_CHECK_MS
        this.checkMs = CHIP_CHECK_MS
    }

    /**
     * Due every CHIP_CHECK_MS: does the chip still hold our settings (spi.holdsSettings)?
     * If not, it was reset: count it and bring it up again. A bring-up that throws (no chip
     * answering) is counted by receive() as a bus error; until one succeeds checkMs doubles
     * up to CHIP_RETRY_MAX_MS and the entry points leave the chip alone. Frames lost
     * meanwhile are for TCP and ARP to recover.
     */
    private async checkChip(): Promise<void> {
        const timing = this.timing
        if (timing.nowMs() < this.checkAt) return
        const ms = this.checkMs
        this.checkAt = timing.nowMs() + ms
        if (ms === CHIP_CHECK_MS) {
            if (await this.spi.holdsSettings()) return
            this.counters.chipResets++
        }
        this.checkMs = ms < CHIP_RETRY_MAX_MS ? ms * 2 : ms
        // bringUp forgets the bank, ERDPT, the ring position and the frame in flight, and
        // waits after SRC (errata 2); the power-on oscillator start-up is within that wait.
        await this.bringUp()
    }

    /** MAC registers (datasheet 6.5). MACON3.FULDPX must match PHCON1.PDPXMD. */
    private async configureMac(): Promise<void> {
        const spi = this.spi
        const full = this.fullDuplex
        const mac = this.mac
        // Pause frames only exist in full duplex.
        await spi.write(Reg.MACON1, full ? MACON1_MARXEN | MACON1_TXPAUS | MACON1_RXPAUS : MACON1_MARXEN)
        // Pad short frames to 60 bytes and append the CRC; check the length field.
        const macon3 = MACON3_PADCFG0 | MACON3_TXCRCEN | MACON3_FRMLNEN
        await spi.write(Reg.MACON3, full ? macon3 | MACON3_FULDPX : macon3)
        // Half duplex: wait for the medium indefinitely instead of aborting (802.3 compliance).
        await spi.write(Reg.MACON4, full ? 0 : MACON4_DEFER)
        await spi.write(Reg.MABBIPG, full ? MABBIPG_FULL : MABBIPG_HALF)
        await spi.write(Reg.MAIPGL, MAIPGL_VALUE)
        if (!full) await spi.write(Reg.MAIPGH, MAIPGH_HALF)
        // spi.holdsSettings() watches the low byte (MAMXFL_LOW) to notice a chip reset.
        await spi.write16(Reg.MAMXFLL, MAX_FRAME + FCS_LEN)
        // MAADR1 holds the first octet.
        await spi.write(Reg.MAADR1, mac[0])
        await spi.write(Reg.MAADR2, mac[1])
        await spi.write(Reg.MAADR3, mac[2])
        await spi.write(Reg.MAADR4, mac[3])
        await spi.write(Reg.MAADR5, mac[4])
        await spi.write(Reg.MAADR6, mac[5])
    }

    /** PHY duplex to match the MAC, link-change flag on. */
    private async configurePhy(): Promise<void> {
        const phy = this.phy
        const full = this.fullDuplex
        let ok = await phy.write(PHCON1, full ? PHCON1_PDPXMD : 0)
        // errata 9: in half duplex the PHY loops our frames back unless HDLDIS is set.
        if (ok) ok = await phy.write(PHCON2, full ? 0 : PHCON2_HDLDIS)
        if (ok) ok = await phy.write(PHIE, PHIE_PGEIE | PHIE_PLNKIE)
        if (!ok) throw new Error("ENC28J60: PHY does not respond (MISTAT.BUSY stuck)")
    }

    /** Copies the next received frame (without FCS) into buf; 0 when none. Never throws. */
    async receive(buf: Buffer): Promise<number> {
        if (!this.ready) return 0
        if (this.busy) {
            this.counters.overlappingCalls++
            return 0
        }
        this.busy = true
        let n = 0
        try {
            await this.checkChip()
            if (this.checkMs === CHIP_CHECK_MS) {
                if (this.rx.pending === 0) {
                    // One EIR read serves overflow detection and the transmit in flight.
                    const eir = await this.spi.read(Reg.EIR)
                    if ((eir & EIR_RXERIF) !== 0) {
                        this.counters.rxOverflows++
                        await this.spi.clearBits(Reg.EIR, EIR_RXERIF)
                    }
                    await this.tx.poll(eir)
                }
                n = await this.rx.receive(buf)
            }
        } catch (e) {
            this.busError()
            n = 0
        }
        this.busy = false
        return n
    }

    /**
     * Hands buf[0..len) to the chip and returns without waiting for the wire; the
     * outcome (sent, retried from chip memory, given up) is collected by the next
     * transmit or receive and shows in the counters. flushTx() waits for it.
     * buf[0..len) is written to the chip in place and holds MISO junk afterwards.
     * False when the frame was refused or the bus failed.
     */
    async transmit(buf: Buffer, len: number): Promise<boolean> {
        if (!this.ready || this.checkMs !== CHIP_CHECK_MS || len < MIN_FRAME || len > MAX_FRAME || len > buf.length || this.busy) {
            if (this.busy) this.counters.overlappingCalls++
            this.counters.txRefused++
            return false
        }
        this.busy = true
        let ok = false
        try {
            await this.tx.send(buf, len)
            ok = true
        } catch (e) {
            this.busError()
        }
        this.busy = false
        return ok
    }

    /** Waits until the frame in flight is sent or given up (retries included). */
    async flushTx(): Promise<void> {
        if (!this.ready || this.busy) return
        this.busy = true
        try {
            await this.tx.finish()
        } catch (e) {
            this.busError()
        }
        this.busy = false
    }

    /** PHSTAT2.LSTAT, reread when EIR.LINKIF says it changed (and at least every second). */
    async linkUp(): Promise<boolean> {
        if (!this.ready || this.checkMs !== CHIP_CHECK_MS) return false
        if (this.busy) {
            this.counters.overlappingCalls++
            return this.link
        }
        this.busy = true
        let up = false
        try {
            const eir = await this.spi.read(Reg.EIR)
            const stale = this.timing.nowMs() - this.linkCheckedAt >= LINK_REFRESH_MS
            if ((eir & EIR_LINKIF) !== 0 || !this.linkKnown || stale) await this.refreshLink(eir)
            up = this.link
        } catch (e) {
            // A chip we cannot talk to has no usable link.
            this.busError()
            this.linkKnown = false
        }
        this.busy = false
        return up
    }

    private async refreshLink(eir: number): Promise<void> {
        // Reading PHIR acknowledges the PHY interrupt and clears EIR.LINKIF.
        if ((eir & EIR_LINKIF) !== 0) await this.phy.read(PHIR)
        const st = await this.phy.read(PHSTAT2)
        if (st < 0) return
        const up = (st & PHSTAT2_LSTAT) !== 0
        if (this.linkKnown && up !== this.link) this.counters.linkChanges++
        this.link = up
        this.linkKnown = true
        this.linkCheckedAt = this.timing.nowMs()
    }

    private busError(): void {
        this.counters.busErrors++
        this.spi.abort()
        this.tx.forgetPointers()
    }
}
