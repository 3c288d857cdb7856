// Transmitting (datasheet 7.1, errata 12, 13, 15).
//
// Two transmit areas after the receive ring, used in turn (the memory outside the ring
// is the host's to place frames in). send() writes the new frame into the idle area
// while the previous one is still on the wire: during a transmission only the bytes
// being sent are off limits to SPI, and ETXST/ETXND may change only while TXRTS is
// clear (section 7.1; the chip model checks both). It then collects the previous
// frame's outcome, retrying it from its own area, and starts the new one. It returns
// without waiting for the wire: the outcome is collected at the next send() (or by the
// receive poll, which reads EIR anyway). A frame stays in chip memory until then, so a
// late collision or an abort is retried by starting it again, without the caller's
// buffer. The frame is written straight from the caller's buffer (no staging copy, 1.5 KB
// of heap saved); the full-duplex bus leaves MISO junk there (NetDevice.transmit says so).
// The SPI write of one frame (0.6 ms for 1514 bytes at 20 MHz) thus overlaps
// the wire time of the one before (1.23 ms), and a sender that must wait sleeps until
// its frame can have ended before polling EIR (see POLL_MS for DeviceScript's sleep).

import { Enc28j60Counters } from "./counters"
import { Enc28j60Spi } from "./spi-commands"
import { DriverTiming } from "./timing"
import {
    ECON1_TXRST,
    ECON1_TXRTS,
    EIR_TXERIF,
    EIR_TXIF,
    MAX_FRAME,
    Reg,
    TSV3_LATE_COLLISION,
    TSV_LEN,
} from "./registers"

/** 10BASE-T: 0.8 us a byte; preamble, FCS and inter-frame gap add 24 bytes to a frame of at least 60. */
const WIRE_MS_PER_BYTE = 0.0008
const WIRE_OVERHEAD = 24
const WIRE_MIN_FRAME = 60
/**
 * Poll interval once a frame should have ended but has not (deferral, errata 12 stall).
 * The simulator sleeps fractions of a millisecond exactly. DeviceScript's ds.sleep()
 * truncates to whole milliseconds on a millisecond clock (sleep(1.23) waits about 1 ms,
 * sleep(0.25) only yields; ds.millis() is whole ms): on the device the wait for a frame's
 * end is a 1 ms sleep plus yielding EIR polls. So finish() is bounded by time, not by a
 * count of polls, whose duration differs between the two.
 */
const POLL_MS = 0.25
/** Per-packet control byte 0: MACON3 decides padding and CRC (datasheet 7.1). */
const TX_CONTROL = 0x00
/** One transmit area: control byte, frame, status vector (datasheet 7.1). */
const TX_AREA = 1 + MAX_FRAME + TSV_LEN
/**
 * The second area starts 0x600 after the first (TX_AREA rounded up): the pointers of
 * the two areas then differ in their high byte only, one register write each.
 */
const TX_STRIDE = 0x600
/** Buffer memory both areas take from the first one's start. */
export const TX_MEMORY = TX_STRIDE + TX_AREA

/** @devsWhenUsed */
export class Enc28j60Tx {
    /** A frame was started and its outcome not yet collected. */
    inFlight = false
    /** Area (ETXST) and length of the frame last started: the one in flight (0: none yet). */
    private start = 0
    private len = 0
    private attempts = 0
    /** When the frame in flight can have left the wire at the earliest (ms). */
    private endsAt = 0
    /** Longest finish() may take: every attempt timing out (ms). */
    private patienceMs: number
    /** EWRPT, ETXST and ETXND as last written (-1 unknown): only changed bytes are rewritten. */
    private ewrpt = -1
    private etxst = -1
    private etxnd = -1

    /** Areas at first and first + TX_STRIDE. */
    constructor(
        private spi: Enc28j60Spi,
        private timing: DriverTiming,
        private counters: Enc28j60Counters,
        private first: number,
        private maxRetries: number,
        private timeoutMs: number
    ) {
        this.patienceMs = (maxRetries + 1) * (timeoutMs + 2)
    }

    /** After a chip reset: nothing is in flight, and the pointer shadows are stale. */
    clear(): void {
        this.inFlight = false
        this.forgetPointers()
    }

    /**
     * After a bus error: the pointer shadows may be wrong, but a frame in flight may still be
     * on the wire, so it stays in flight (the next send() collects it or times it out) and
     * `start` keeps naming its area: the next frame is written into the other one.
     */
    forgetPointers(): void {
        this.ewrpt = -1
        this.etxst = -1
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
        const spi = this.spi
        // The idle area: never the one whose frame may be on the wire.
        const at = this.start === this.first ? this.first + TX_STRIDE : this.first
        await this.writePointer(Reg.EWRPTL, at, this.ewrpt)
        this.ewrpt = -1
        // Control byte, the frame, then 7 zeros over the status vector slot. errata 12: an
        // abort writes no TSV; zeros make a stale one read as "no late collision".
        // buf[0..len) holds MISO junk afterwards: a retry resends from chip memory.
        await spi.writeBuffer(TX_CONTROL, buf, len, TSV_LEN)
        // EWRPT auto-incremented past the control byte, the frame and the TSV slot.
        this.ewrpt = at + 1 + len + TSV_LEN
        // The previous frame ends (or is retried from its own area, given up) first.
        if (this.inFlight) await this.finish()
        // errata 12: an abort can leave TXRTS set and the transmit logic stalled; a TXRST
        // pulse before every frame ends that, and ETXST/ETXND may change only with TXRTS clear.
        await this.resetLogic()
        await this.writePointer(Reg.ETXSTL, at, this.etxst)
        this.etxst = at
        // ETXND is the frame's last byte: the control byte sits at ETXST.
        const end = at + len
        await this.writePointer(Reg.ETXNDL, end, this.etxnd)
        this.etxnd = end
        this.start = at
        this.len = len
        this.attempts = 0
        await this.launch()
    }

    /** Waits until the frame in flight is sent or given up, retrying it on the way. */
    async finish(): Promise<void> {
        const timing = this.timing
        let since = timing.nowMs()
        const deadline = since + this.patienceMs
        while (this.inFlight && timing.nowMs() <= deadline) {
            // Do not poll a frame that cannot have ended: sleep through the rest of its wire time.
            const left = this.endsAt - timing.nowMs()
            if (left > 0) await timing.delayMs(left)
            const eir = await this.spi.read(Reg.EIR)
            if ((eir & (EIR_TXIF | EIR_TXERIF)) !== 0) {
                await this.done(eir)
                since = timing.nowMs()
            } else if (timing.nowMs() - since > this.timeoutMs) {
                await this.timedOut()
                since = timing.nowMs()
            } else await timing.delayMs(POLL_MS)
        }
        if (this.inFlight) this.giveUp()
    }

    /** Collects the outcome if EIR (read by the caller) says the frame ended. */
    async poll(eir: number): Promise<void> {
        if (this.inFlight && (eir & (EIR_TXIF | EIR_TXERIF)) !== 0) await this.done(eir)
    }

    /** The frame ended (TXIF or TXERIF): count it, or start it again from its area. */
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
        // ETXST/ETXND still frame this area: the retry sends the same bytes.
        await this.resetLogic()
        await this.launch()
    }

    /** errata 12: TXRTS stuck without TXERIF. Cancel, reset the TX logic, try again (bounded). */
    private async timedOut(): Promise<void> {
        this.counters.txTimeouts++
        // Or the chip was reset under the frame (TXRTS cleared, pointers gone): retrying would
        // start whatever ETXST..ETXND now hold. The frame is gone with the reset; throw:
        // counted as a bus error, which forgets the pointer shadows; the driver's next chip
        // check brings the chip up.
        if (!(await this.spi.holdsSettings())) {
            this.inFlight = false
            throw new Error("ENC28J60: chip reset")
        }
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
        const len = this.len
        this.endsAt = this.timing.nowMs() + ((len < WIRE_MIN_FRAME ? WIRE_MIN_FRAME : len) + WIRE_OVERHEAD) * WIRE_MS_PER_BYTE
    }

    /** Reads TSV byte 3 (written at ETXND + 1 of the frame's area) and tests bit 29, late collision. */
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
