// A fake ENC28J60 for the VM cost bench (bench/devs/vm-cost.ts): only what the driver
// uses, one whole SPI transfer at a time with native blits. A buffer-memory stream (RBM,
// WBM) goes on over the transfers of one chip-select cycle: the driver's WBM is the opcode
// and control byte, then the caller's frame, then the status-vector zeros (the chip model in sim/ is
// Node-only, and test/devs/driver.devs.ts's scripted chip goes byte by byte, far too
// slow to sit under a timing). Frames the peer "puts on the wire" land in the receive
// ring with a real packet header; a frame the driver starts (ECON1.TXRTS) is "sent" at
// once: its place in buffer memory is noted and EIR.TXIF set.
//
// The bench subtracts this fake's own cost ("bus excluded"): every select / transfer /
// deselect can be logged (kind, opcode, first argument byte, length) and the log
// replayed against the fake (its registers reset to where the log started) and against
// NullBus; the difference is the time spent inside the fake's methods.
import { SpiBus } from "../../src/driver/spi-bus"
import {
    ECON1_TXRTS,
    ECON2_PKTDEC,
    EIR_TXIF,
    OP_RBM,
    OP_SRC,
    OP_WBM,
    OP_WCR,
    OP_BFS,
    OP_BFC,
    PHSTAT2,
    PHSTAT2_LSTAT,
    RSV2_RX_OK,
} from "../../src/driver/enc28j60/registers"

// Register indexes in `regs`: bank << 5 | address; 0x1b..0x1f are common to all banks.
const R_ERDPTL = 0x00
const R_EWRPTL = 0x02
const R_ETXSTL = 0x04
const R_ETXNDL = 0x06
const R_ERXSTL = 0x08
const R_ERXNDL = 0x0a
const R_ERXWRPTL = 0x0e
const R_EIR = 0x1c
const R_ESTAT = 0x1d
const R_ECON2 = 0x1e
const R_ECON1 = 0x1f
const R_EPKTCNT = 0x39
const R_MICMD = 0x52
const R_MIREGADR = 0x54
const R_MIWRL = 0x56
const R_MIWRH = 0x57
const R_MIRDL = 0x58
const R_MIRDH = 0x59
const R_EREVID = 0x72
/**
 * Buffer memory the fake has: the bench gives the driver a 3 KB receive ring (rxRingEnd
 * 0x0BFF, room for two full frames) and its transmit areas after it, so 6 KB is enough
 * and the VM's 64 KB heap keeps room for everything else. A write past it throws: the
 * driver's layout changed and this needs adjusting.
 */
export const FAKE_RX_RING_END = 0x0bff
const MEM_SIZE = 6144
/** Packets the fake holds before it drops (the bench never has more than one or two waiting). */
const MAX_WAITING = 4

export const LOG_SELECT = 1
export const LOG_TRANSFER = 2
export const LOG_DESELECT = 3
/** Bytes per log entry: kind, opcode, first argument byte, length (u16 LE). */
export const LOG_ENTRY = 5

/** @devsWhenUsed */
export class FakeEnc28j60 implements SpiBus {
    regs: Buffer
    mem: Buffer
    phy: number[] = []
    /** Where the next received packet goes. */
    rxWr = 0
    /** Frames the driver sent; where the last one is in `mem` and how long. */
    txCount = 0
    txOff = 0
    txLen = 0
    rxDropped = 0
    private first = false
    private op = 0
    private hdr: Buffer
    // Transfer log (null = off).
    log: Buffer = null
    logged = 0
    /** Entries seen while logging, also those past the log's end. */
    seen = 0

    constructor() {
        this.regs = Buffer.alloc(128)
        this.mem = Buffer.alloc(MEM_SIZE)
        this.hdr = Buffer.alloc(6)
        for (let i = 0; i < 32; i++) this.phy.push(0)
        this.reset()
    }

    private reset(): void {
        this.regs.fillAt(0, 128, 0)
        this.regs[R_EREVID] = 0x06 // B7
        this.regs[R_ESTAT] = 0x01 // CLKRDY
        this.phy[PHSTAT2] = PHSTAT2_LSTAT
        this.rxWr = 0
    }

    private get16(i: number): number {
        return this.regs[i] | (this.regs[i + 1] << 8)
    }
    private set16(i: number, v: number): void {
        this.regs[i] = v & 0xff
        this.regs[i + 1] = (v >> 8) & 0xff
    }

    private record(kind: number, op: number, arg: number, len: number): void {
        this.seen++
        const log = this.log
        if (log === null || (this.logged + 1) * LOG_ENTRY > log.length) return
        const p = this.logged * LOG_ENTRY
        log[p] = kind
        log[p + 1] = op
        log[p + 2] = arg
        log[p + 3] = len & 0xff
        log[p + 4] = len >> 8
        this.logged++
    }

    select(): void {
        if (this.log !== null) this.record(LOG_SELECT, 0, 0, 0)
        this.first = true
    }

    deselect(): void {
        if (this.log !== null) this.record(LOG_DESELECT, 0, 0, 0)
        this.first = false
    }

    async transfer(buf: Buffer, off: number, len: number): Promise<void> {
        if (this.log !== null) this.record(LOG_TRANSFER, this.first ? buf[off] : 0, len > 1 ? buf[off + 1] : 0, len)
        if (!this.first) {
            // A later transfer of the same command: the stream goes on where it stopped.
            if (this.op === OP_RBM) this.readMem(buf, off, len)
            else if (this.op === OP_WBM) this.writeMem(buf, off, len)
            return
        }
        this.first = false
        const op = buf[off]
        this.op = op
        if (op === OP_RBM) {
            this.readMem(buf, off + 1, len - 1)
            return
        }
        if (op === OP_WBM) {
            this.writeMem(buf, off + 1, len - 1)
            return
        }
        if (op === OP_SRC) {
            this.reset()
            return
        }
        const r = this.regs
        const a = op & 0x1f
        const i = a >= 0x1b ? a : ((r[R_ECON1] & 3) << 5) | a
        const kind = op & 0xe0
        if (kind === 0) {
            // RCR: MAC/MII registers answer after a dummy byte, so the value goes in both.
            if (len > 1) buf[off + 1] = r[i]
            if (len > 2) buf[off + 2] = r[i]
            return
        }
        const v = len > 1 ? buf[off + 1] : 0
        if (kind === OP_WCR) r[i] = v
        else if (kind === OP_BFS) r[i] = r[i] | v
        else if (kind === OP_BFC) r[i] = r[i] & ~v & 0xff
        this.afterWrite(i)
    }

    private afterWrite(i: number): void {
        const r = this.regs
        if (i === R_ECON2 && (r[R_ECON2] & ECON2_PKTDEC) !== 0) {
            r[R_ECON2] = r[R_ECON2] & ~ECON2_PKTDEC & 0xff
            if (r[R_EPKTCNT] > 0) r[R_EPKTCNT]--
        } else if (i === R_ECON1 && (r[R_ECON1] & ECON1_TXRTS) !== 0) {
            const st = this.get16(R_ETXSTL)
            this.txOff = st + 1
            this.txLen = this.get16(R_ETXNDL) - st
            this.txCount++
            r[R_ECON1] = r[R_ECON1] & ~ECON1_TXRTS & 0xff
            r[R_EIR] = r[R_EIR] | EIR_TXIF
        } else if (i === R_MICMD && (r[R_MICMD] & 1) !== 0) {
            const v = this.phy[r[R_MIREGADR] & 31]
            r[R_MIRDL] = v & 0xff
            r[R_MIRDH] = v >> 8
        } else if (i === R_MIWRH) {
            this.phy[r[R_MIREGADR] & 31] = r[R_MIWRL] | (r[R_MIWRH] << 8)
        }
    }

    /** RBM: ERDPT auto-increments and wraps from ERXND to ERXST inside the receive ring. */
    private readMem(buf: Buffer, off: number, n: number): void {
        if (n <= 0) return
        let rd = this.get16(R_ERDPTL)
        const end = this.get16(R_ERXNDL)
        if (rd <= end && rd + n > end + 1) {
            const first = end + 1 - rd
            buf.blitAt(off, this.mem, rd, first)
            const start = this.get16(R_ERXSTL)
            buf.blitAt(off + first, this.mem, start, n - first)
            rd = start + n - first
        } else {
            buf.blitAt(off, this.mem, rd, n)
            // Reading the byte at ERXND wraps the pointer to ERXST.
            rd = rd === end + 1 - n ? this.get16(R_ERXSTL) : rd + n
        }
        this.set16(R_ERDPTL, rd)
    }

    /**
     * WBM: EWRPT auto-increments (the transmit area never wraps). MISO floats during a
     * write: the sent bytes come back as 0xFF, as from the chip model (the driver's
     * caller gets its frame buffer back overwritten, NetDevice.transmit).
     */
    private writeMem(buf: Buffer, off: number, n: number): void {
        if (n <= 0) return
        const wr = this.get16(R_EWRPTL)
        if (wr + n > MEM_SIZE) throw new Error("fake chip: WBM past its memory")
        this.mem.blitAt(wr, buf, off, n)
        buf.fillAt(off, n, 0xff)
        this.set16(R_EWRPTL, wr + n)
    }

    /** Writes n bytes into the receive ring at pos, wrapping at ERXND; returns the position after. */
    private ringWrite(pos: number, src: Buffer, srcOff: number, n: number): number {
        const end = this.get16(R_ERXNDL)
        if (pos + n > end + 1) {
            const first = end + 1 - pos
            this.mem.blitAt(pos, src, srcOff, first)
            const start = this.get16(R_ERXSTL)
            this.mem.blitAt(start, src, srcOff + first, n - first)
            return start + n - first
        }
        this.mem.blitAt(pos, src, srcOff, n)
        return pos + n === end + 1 ? this.get16(R_ERXSTL) : pos + n
    }

    /**
     * A frame arrives from the wire: header (next pointer, byte count with FCS, status
     * "received OK"), the frame, 4 FCS bytes (whatever is there) and a pad byte to an
     * even address, then EPKTCNT + 1. False (counted) when too many are waiting.
     */
    deliver(frame: Buffer, len: number): boolean {
        const r = this.regs
        if (r[R_EPKTCNT] >= MAX_WAITING) {
            this.rxDropped++
            return false
        }
        const count = len + 4
        const start = this.get16(R_ERXSTL)
        const size = this.get16(R_ERXNDL) + 1 - start
        let next = this.rxWr + 6 + count + (count & 1)
        if (next >= start + size) next -= size
        const h = this.hdr
        h[0] = next & 0xff
        h[1] = next >> 8
        h[2] = count & 0xff
        h[3] = count >> 8
        h[4] = RSV2_RX_OK
        h[5] = 0
        const p = this.ringWrite(this.rxWr, h, 0, 6)
        this.ringWrite(p, frame, 0, len)
        this.rxWr = next
        this.set16(R_ERXWRPTL, next)
        r[R_EPKTCNT]++
        return true
    }

    /** Forgets waiting packets without the driver (the bench's harness-only loops). */
    dropWaiting(): void {
        this.regs[R_EPKTCNT] = 0
        this.rxWr = this.get16(R_ERDPTL)
    }

    /** Starts logging into log (from its start), with the registers as they are now kept for the replay. */
    startLog(log: Buffer, regsAtStart: Buffer): void {
        regsAtStart.blitAt(0, this.regs, 0, 128)
        this.log = log
        this.logged = 0
        this.seen = 0
    }

    stopLog(): void {
        this.log = null
    }

    /** Registers as given (a replay starts where the logged run started). */
    loadRegs(regs: Buffer): void {
        this.regs.blitAt(0, regs, 0, 128)
    }

    /** Packets waiting for the driver. */
    waiting(): number {
        return this.regs[R_EPKTCNT]
    }
}

/** A bus that does nothing: the replay loop's own cost, to subtract from a replay against the fake. */
/** @devsWhenUsed */
export class NullBus implements SpiBus {
    select(): void {}
    deselect(): void {}
    async transfer(buf: Buffer, off: number, len: number): Promise<void> {}
}

/**
 * Replays a transfer log once against bus (select / transfer / deselect with the logged
 * opcode, argument and length; data bytes are whatever scratch holds). A transfer
 * longer than scratch is cut to its length (a safety net: the longest transfer is a
 * 1514-byte frame, the bench's scratch has 1518).
 */
export async function replayLog(bus: SpiBus, log: Buffer, entries: number, scratch: Buffer): Promise<void> {
    for (let e = 0; e < entries; e++) {
        const p = e * LOG_ENTRY
        const kind = log[p]
        if (kind === LOG_SELECT) bus.select()
        else if (kind === LOG_DESELECT) bus.deselect()
        else {
            let len = log[p + 3] | (log[p + 4] << 8)
            if (len > scratch.length) len = scratch.length
            scratch[0] = log[p + 1]
            scratch[1] = log[p + 2]
            await bus.transfer(scratch, 0, len)
        }
    }
}
