// Receiving from the ENC28J60's ring buffer (datasheet 7.2, errata 5, 6, 14).
//
// The ring runs from 0 to ringEnd. Each packet: a 6-byte header (next pointer,
// byte count, status), the frame with its FCS, a pad byte to an even address.
// One packet costs: an ERDPT write only when the last read did not end there,
// one RBM command (header, then the frame straight into the caller's buffer, then
// FCS and pad so ERDPT lands on the next packet), ERXRDPT (2 writes) and PKTDEC.
// EPKTCNT is read only when the packets counted last time are used up.

import { getU16LE } from "../../util/bytes"
import { Enc28j60Counters } from "./counters"
import { Enc28j60Spi } from "./spi-commands"
import {
    ECON1_RXEN,
    ECON1_RXRST,
    ECON2_PKTDEC,
    EIR_RXERIF,
    FCS_LEN,
    MAX_FRAME,
    MIN_FRAME,
    RSV2_RX_OK,
    RX_HEADER_LEN,
    Reg,
} from "./registers"

/** Bad frames skipped in one receive() call before it returns 0 (bounded work per call). */
const MAX_PACKETS_PER_CALL = 8
/** Highest EPKTCNT (8 bits): bounds the drain after a reset. */
const MAX_PACKET_COUNT = 255

/** Header fields of the packet being read. */
/** @devsWhenUsed */
class RxHeader {
    next = 0
    count = 0
    status = 0
}

/** @devsWhenUsed */
export class Enc28j60Rx {
    /** Packets counted by EPKTCNT that we have not freed yet. */
    pending = 0
    /** Address of the next packet's header. */
    private next = 0
    private header: RxHeader

    /** ringEnd (ERXND) must be odd; the ring starts at 0 (errata 5). */
    constructor(
        private spi: Enc28j60Spi,
        private counters: Enc28j60Counters,
        private ringEnd: number
    ) {
        this.header = new RxHeader()
    }

    /** addr folded back into the ring (addr < 2 ring sizes). */
    private wrap(addr: number): number {
        return addr > this.ringEnd ? addr - (this.ringEnd + 1) : addr
    }

    /** Ring distance from a forward to b. */
    private distance(a: number, b: number): number {
        return b >= a ? b - a : b + this.ringEnd + 1 - a
    }

    /** Programs an empty ring. ECON1.RXEN must be clear (datasheet 6.1). */
    async initRing(): Promise<void> {
        const spi = this.spi
        // errata 5: writing ERXST/ERXND can zero the internal write pointer, so the ring starts at 0.
        await spi.write16(Reg.ERXSTL, 0)
        await spi.write16(Reg.ERXNDL, this.ringEnd)
        // errata 14: ERXRDPT stays odd; ERXND (odd) marks the whole ring free.
        await spi.write16(Reg.ERXRDPTL, this.ringEnd)
        await spi.write16(Reg.ERDPTL, 0)
        spi.readPtr = 0
        this.next = 0
        this.pending = 0
    }

    /** Copies the next good frame into buf (without FCS); 0 when none is waiting. */
    async receive(buf: Buffer): Promise<number> {
        for (let i = 0; i < MAX_PACKETS_PER_CALL; i++) {
            if (this.pending === 0) {
                this.pending = await this.countPackets()
                if (this.pending === 0) return 0
            }
            const n = await this.readPacket(buf)
            if (n > 0) return n
            if (n < 0) return 0
        }
        return 0
    }

    /**
     * errata 6: EIR.PKTIF is unreliable, EPKTCNT is the truth. A nonzero count is
     * read twice and the smaller taken: a garbled read must not make us free
     * packets that are not there (packets only arrive between the reads).
     */
    private async countPackets(): Promise<number> {
        const a = await this.spi.read(Reg.EPKTCNT)
        if (a === 0) return 0
        const b = await this.spi.read(Reg.EPKTCNT)
        return a < b ? a : b
    }

    /**
     * Starts an RBM at start and reads the header; chip select stays low.
     * True when the header is self-consistent: the next pointer is exactly where
     * the byte count says this packet ends, which also proves it even and inside the ring.
     */
    private async readHeader(start: number): Promise<boolean> {
        const spi = this.spi
        await spi.setReadPointer(start)
        await spi.beginRead(RX_HEADER_LEN)
        const s = spi.scratch
        const h = this.header
        h.next = getU16LE(s, 1)
        h.count = getU16LE(s, 3)
        h.status = s[5]
        if (h.count > MAX_FRAME + FCS_LEN) return false
        return h.next === this.wrap(start + RX_HEADER_LEN + h.count + (h.count & 1))
    }

    /** Reads one packet: its frame length, 0 if it was dropped, -1 if the ring was reset. */
    private async readPacket(buf: Buffer): Promise<number> {
        const spi = this.spi
        const c = this.counters
        const h = this.header
        const start = this.next
        const afterHeader = this.wrap(start + RX_HEADER_LEN)
        if (!(await this.readHeader(start))) {
            spi.endRead()
            spi.readPtr = afterHeader
            c.rxBadHeaders++
            // A garbled SPI read leaves the ring intact: read the header once more.
            if (!(await this.readHeader(start))) {
                spi.endRead()
                spi.readPtr = afterHeader
                return await this.recover(start)
            }
        }
        const frameLen = h.count - FCS_LEN
        if ((h.status & RSV2_RX_OK) === 0) c.rxDropBadStatus++
        else if (frameLen < MIN_FRAME) c.rxDropLength++
        else if (frameLen > buf.length) c.rxDropTooBig++
        else {
            // Same RBM stream: the frame lands in place in the caller's buffer, then FCS
            // and pad go to scratch so ERDPT ends on the next header (it wraps at ERXND).
            await spi.readMore(buf, 0, frameLen)
            await spi.readMore(spi.scratch, 0, FCS_LEN + (h.count & 1))
            spi.endRead()
            spi.readPtr = h.next
            await this.free(h.next)
            c.rxFrames++
            c.rxBytes += frameLen
            return frameLen
        }
        spi.endRead()
        spi.readPtr = afterHeader
        await this.free(h.next)
        return 0
    }

    /**
     * The header at start is wrong twice. If only the next pointer is bad, the byte
     * count still says where the packet ends: skip it there (the frame is dropped,
     * later frames are kept) as long as that end is inside what the chip has
     * written (ERXWRPT). Otherwise the ring cannot be trusted: reset it.
     */
    private async recover(start: number): Promise<number> {
        const count = this.header.count
        if (count >= MIN_FRAME + FCS_LEN && count <= MAX_FRAME + FCS_LEN) {
            const end = this.wrap(start + RX_HEADER_LEN + count + (count & 1))
            // ERXWRPT is read a byte at a time while frames may land: two reads that agree
            // cannot straddle a change (a carry between the halves would look 256 bytes off).
            let written = await this.spi.read16(Reg.ERXWRPTL)
            for (let i = 0; i < 3; i++) {
                const again = await this.spi.read16(Reg.ERXWRPTL)
                if (again === written) break
                written = again
            }
            const used = this.distance(start, written)
            const skip = this.distance(start, end)
            if (skip > 0 && skip <= used) {
                this.counters.rxNextPtrRepairs++
                await this.free(end)
                return 0
            }
        }
        await this.reset()
        return -1
    }

    /** Frees the packet ending at next: ERXRDPT and PKTDEC (datasheet 7.2.4). */
    private async free(next: number): Promise<void> {
        const spi = this.spi
        // errata 14: ERXRDPT must stay odd: next - 1 (next is even), or ERXND at the ring start.
        await spi.write16(Reg.ERXRDPTL, next === 0 ? this.ringEnd : next - 1)
        await spi.setBits(Reg.ECON2, ECON2_PKTDEC)
        this.next = next
        if (this.pending > 0) this.pending--
    }

    /**
     * Resets the receive logic and starts an empty ring (the Linux driver does the
     * same on a bad next pointer). Frames still in the ring are lost.
     */
    async reset(): Promise<void> {
        const spi = this.spi
        this.counters.rxResets++
        await spi.clearBits(Reg.ECON1, ECON1_RXEN)
        await spi.setBits(Reg.ECON1, ECON1_RXRST)
        await spi.clearBits(Reg.ECON1, ECON1_RXRST)
        await this.initRing()
        // RXRST clears EPKTCNT; should some packets still be counted, decrement them away
        // (countPackets reads twice: a garbled read must not decrement past 0).
        for (let i = 0; i < MAX_PACKET_COUNT; i++) {
            if ((await this.countPackets()) === 0) break
            await spi.setBits(Reg.ECON2, ECON2_PKTDEC)
        }
        await spi.clearBits(Reg.EIR, EIR_RXERIF)
        await spi.setBits(Reg.ECON1, ECON1_RXEN)
    }
}
