// Transmitting (datasheet 7.1, errata 12, 13, 15).
//
// One transmit area after the receive ring. send() copies the frame to the chip,
// starts it and returns without waiting for the wire: the outcome is collected at
// the next send() (or by the receive poll, which reads EIR anyway). The frame
// stays in chip memory until then, so a late collision or an abort is retried by
// starting it again, without the caller's buffer.

import { allocBytes, copyBytes, fillBytes } from "../../util/bytes"
import { Enc28j60Counters } from "./counters"
import { Enc28j60Spi } from "./spi-commands"
import { DriverTiming } from "./timing"
import {
    ECON1_TXRST,
    ECON1_TXRTS,
    EIR_TXERIF,
    EIR_TXIF,
    MAX_FRAME,
    OP_WBM,
    Reg,
    TSV3_LATE_COLLISION,
    TSV_LEN,
} from "./registers"

/** 10BASE-T: 0.8 us a byte; preamble, FCS and inter-frame gap add 24 bytes. */
const WIRE_MS_PER_BYTE = 0.0008
const WIRE_OVERHEAD = 24
/** WBM opcode and the per-packet control byte in front of the frame. */
const TX_PREFIX = 2
/** Per-packet control byte 0: MACON3 decides padding and CRC (datasheet 7.1). */
const TX_CONTROL = 0x00

/** @devsWhenUsed */
export class Enc28j60Tx {
    /** A frame was started and its outcome not yet collected. */
    inFlight = false
    /**
     * WBM opcode, control byte, frame, 7 zero bytes over the status vector slot: one
     * SPI transfer, and the caller's buffer is not touched. The zeros make a stale
     * TSV unreadable: an abort that writes none (errata 12) reads as "no late collision".
     */
    private frame: Buffer
    private len = 0
    private attempts = 0
    private launchedAt = 0
    private maxPolls: number
    /** EWRPT and ETXND as last written (-1 unknown): only changed bytes are rewritten. */
    private ewrpt = -1
    private etxnd = -1

    constructor(
        private spi: Enc28j60Spi,
        private timing: DriverTiming,
        private counters: Enc28j60Counters,
        private start: number,
        private maxRetries: number,
        private timeoutMs: number
    ) {
        this.frame = allocBytes(TX_PREFIX + MAX_FRAME + TSV_LEN)
        this.maxPolls = (maxRetries + 1) * (timeoutMs + 2)
    }

    /** Forgets any frame in flight and the pointer shadows (after a reset or a bus error). */
    clear(): void {
        this.inFlight = false
        this.ewrpt = -1
        this.etxnd = -1
    }

    /** Writes a pointer pair, skipping a byte that already holds the value (old < 0: unknown). */
    private async writePointer(regLow: number, value: number, old: number): Promise<void> {
        const spi = this.spi
        if (old < 0 || (old & 0xff) !== (value & 0xff)) await spi.write(regLow, value & 0xff)
        if (old < 0 || old >> 8 !== value >> 8) await spi.write(regLow + 1, value >> 8)
    }

    /** Queues buf[0..len) (14..1514 bytes, checked by the caller) for the wire. */
    async send(buf: Buffer, len: number): Promise<void> {
        if (this.inFlight) await this.finish()
        const spi = this.spi
        // errata 12: an abort can leave TXRTS set and the transmit logic stalled; a TXRST
        // pulse before every frame also guarantees nothing is in flight while we overwrite it.
        await this.resetLogic()
        await this.writePointer(Reg.EWRPTL, this.start, this.ewrpt)
        const f = this.frame
        f[0] = OP_WBM
        f[1] = TX_CONTROL
        copyBytes(f, TX_PREFIX, buf, 0, len)
        fillBytes(f, TX_PREFIX + len, TSV_LEN, 0)
        this.ewrpt = -1
        await spi.sendCommand(f, 0, TX_PREFIX + len + TSV_LEN)
        // EWRPT auto-incremented past the control byte, the frame and the TSV slot.
        this.ewrpt = this.start + 1 + len + TSV_LEN
        // ETXND is the frame's last byte: the control byte sits at ETXST.
        const end = this.start + len
        await this.writePointer(Reg.ETXNDL, end, this.etxnd)
        this.etxnd = end
        this.len = len
        this.attempts = 0
        await this.launch()
    }

    /** Waits until the frame in flight is sent or given up, retrying it on the way. */
    async finish(): Promise<void> {
        const timing = this.timing
        // Do not poll a frame that cannot have left yet: sleep through its wire time first.
        if (timing.nowMs() - this.launchedAt < (this.len + WIRE_OVERHEAD) * WIRE_MS_PER_BYTE)
            await timing.delayMs(1)
        let since = timing.nowMs()
        for (let i = 0; i < this.maxPolls && this.inFlight; i++) {
            const eir = await this.spi.read(Reg.EIR)
            if ((eir & (EIR_TXIF | EIR_TXERIF)) !== 0) {
                await this.done(eir)
                since = timing.nowMs()
            } else if (timing.nowMs() - since > this.timeoutMs) {
                await this.timedOut()
                since = timing.nowMs()
            } else await timing.delayMs(1)
        }
        if (this.inFlight) this.giveUp()
    }

    /** Collects the outcome if EIR (read by the caller) says the frame ended. */
    async poll(eir: number): Promise<void> {
        if (this.inFlight && (eir & (EIR_TXIF | EIR_TXERIF)) !== 0) await this.done(eir)
    }

    /** The frame ended (TXIF or TXERIF): count it, or start it again. */
    private async done(eir: number): Promise<void> {
        const c = this.counters
        if ((eir & EIR_TXERIF) === 0) {
            this.inFlight = false
            c.txFrames++
            c.txBytes += this.len
            return
        }
        c.txAborts++
        // errata 13, 15: in half duplex a link pulse taken for a late collision kills the
        // frame; ESTAT.LATECOL is unreliable, TSV bit 29 is not.
        const late = await this.lateCollision()
        if (this.attempts >= this.maxRetries) {
            this.giveUp()
            return
        }
        this.attempts++
        if (late) c.txLateCollisionRetries++
        else c.txAbortRetries++
        // errata 12: the transmit logic must be reset before TXRTS is set again.
        await this.resetLogic()
        await this.launch()
    }

    /** errata 12: TXRTS stuck without TXERIF. Cancel, reset the TX logic, try again (bounded). */
    private async timedOut(): Promise<void> {
        this.counters.txTimeouts++
        await this.spi.clearBits(Reg.ECON1, ECON1_TXRTS)
        await this.resetLogic()
        if (this.attempts >= this.maxRetries) {
            this.giveUp()
            return
        }
        this.attempts++
        this.counters.txAbortRetries++
        await this.launch()
    }

    private giveUp(): void {
        this.counters.txGiveUps++
        this.inFlight = false
    }

    /** errata 12: pulse ECON1.TXRST (it also ends a stuck TXRTS). */
    private async resetLogic(): Promise<void> {
        const spi = this.spi
        await spi.setBits(Reg.ECON1, ECON1_TXRST)
        await spi.clearBits(Reg.ECON1, ECON1_TXRST)
    }

    /** Clears the completion flags (errata 12: TXRST release may raise TXERIF) and sets TXRTS. */
    private async launch(): Promise<void> {
        await this.spi.clearBits(Reg.EIR, EIR_TXIF | EIR_TXERIF)
        await this.spi.setBits(Reg.ECON1, ECON1_TXRTS)
        this.inFlight = true
        this.launchedAt = this.timing.nowMs()
    }

    /** Reads TSV byte 3 (written at ETXND + 1) and tests bit 29, late collision. */
    private async lateCollision(): Promise<boolean> {
        const spi = this.spi
        const tsv = this.start + this.len + 1
        await spi.setReadPointer(tsv)
        await spi.beginRead(4)
        spi.endRead()
        spi.readPtr = tsv + 4
        return (spi.scratch[4] & TSV3_LATE_COLLISION) !== 0
    }
}
