// The ENC28J60 SPI instruction set on top of a SpiBus (datasheet section 4).
//
// Every command is one chip-select cycle and, where possible, one transfer of a
// small preallocated scratch buffer: the opcode and its argument bytes go out
// together; buffer-memory streams (RBM, WBM) add transfers of the caller's buffer.
// Banked registers need ECON1.BSEL; the bank last selected is remembered so a
// switch costs nothing when it is already right.

import { SpiBus } from "../spi-bus"
import { allocBytes, fillBytes } from "../../util/bytes"
import { Enc28j60Counters } from "./counters"
import {
    ECON1_BSEL,
    OP_BFC,
    OP_BFS,
    OP_RBM,
    OP_RCR,
    OP_SRC,
    OP_WBM,
    OP_WCR,
    REG_ADDR_MASK,
    REG_BANK_SHIFT,
    REG_COMMON_FIRST,
    REG_MAC_MII,
    Reg,
} from "./registers"

/** The low byte of what bring-up writes to MAMXFL, MAX_FRAME + FCS_LEN = 1518 (power-on value 0x0600). */
export const MAMXFL_LOW = 0xee
/** Bytes of scratch: opcode plus up to 7 answer bytes (a TSV or RX header). */
const SCRATCH_LEN = 8

/** @devsWhenUsed */
export class Enc28j60Spi {
    /** Command scratch: byte 0 the opcode, answers from byte 1 (buffer reads). */
    readonly scratch: Buffer
    /** The bank ECON1.BSEL holds, or -1 when unknown (after an error). */
    private bank = -1
    /**
     * Where we believe ERDPT points, or -1 when unknown. Lets a buffer read that
     * continues where the last one stopped skip rewriting the pointer.
     */
    readPtr = -1

    constructor(private bus: SpiBus, private counters: Enc28j60Counters) {
        this.scratch = allocBytes(SCRATCH_LEN)
    }

    /** Forgets the bank and ERDPT (after a reset or a bus error). */
    forgetState(): void {
        this.bank = -1
        this.readPtr = -1
    }

    /** After a soft reset ECON1 is 0: bank 0. */
    assumeBankZero(): void {
        this.bank = 0
    }

    /** Releases chip select after an exception left a command open. */
    abort(): void {
        this.bus.deselect()
        this.forgetState()
    }

    /** One command of len scratch bytes in its own chip-select cycle. */
    private async command(len: number): Promise<void> {
        const bus = this.bus
        bus.select()
        await bus.transfer(this.scratch, 0, len)
        bus.deselect()
        this.counters.spiTransactions++
    }

    /** Runs a bank-independent command (BFS/BFC only touch ETH registers). */
    private async op2(opcode: number, value: number): Promise<void> {
        const s = this.scratch
        s[0] = opcode
        s[1] = value
        await this.command(2)
    }

    private async selectBankOf(reg: number): Promise<void> {
        if ((reg & REG_ADDR_MASK) >= REG_COMMON_FIRST) return
        const want = (reg >> REG_BANK_SHIFT) & ECON1_BSEL
        const have = this.bank
        if (want === have) return
        // Bit set/clear keep TXRTS and RXEN: writing ECON1 whole could abort a transmission.
        const clear = have < 0 ? ECON1_BSEL & ~want : have & ~want
        const set = have < 0 ? want : want & ~have
        if (clear !== 0) await this.op2(OP_BFC | Reg.ECON1, clear)
        if (set !== 0) await this.op2(OP_BFS | Reg.ECON1, set)
        this.bank = want
    }

    /** RCR: MAC/MII registers answer after a dummy byte (datasheet 4.2.1). */
    async read(reg: number): Promise<number> {
        await this.selectBankOf(reg)
        const s = this.scratch
        s[0] = OP_RCR | (reg & REG_ADDR_MASK)
        s[1] = 0
        s[2] = 0
        if ((reg & REG_MAC_MII) !== 0) {
            await this.command(3)
            return s[2]
        }
        await this.command(2)
        return s[1]
    }

    /** WCR. */
    async write(reg: number, value: number): Promise<void> {
        await this.selectBankOf(reg)
        await this.op2(OP_WCR | (reg & REG_ADDR_MASK), value & 0xff)
    }

    /** A 16-bit register pair, low byte first (ERXRDPT latches on the high write). */
    async write16(regLow: number, value: number): Promise<void> {
        await this.write(regLow, value & 0xff)
        await this.write(regLow + 1, (value >> 8) & 0xff)
    }

    /** Reads a 16-bit register pair, low byte first. */
    async read16(regLow: number): Promise<number> {
        const lo = await this.read(regLow)
        const hi = await this.read(regLow + 1)
        return lo | (hi << 8)
    }

    /** BFS: ORs mask into an ETH register. */
    async setBits(reg: number, mask: number): Promise<void> {
        await this.selectBankOf(reg)
        await this.op2(OP_BFS | (reg & REG_ADDR_MASK), mask)
    }

    /** BFC: clears mask in an ETH register. */
    async clearBits(reg: number, mask: number): Promise<void> {
        await this.selectBankOf(reg)
        await this.op2(OP_BFC | (reg & REG_ADDR_MASK), mask)
    }

    /**
     * Does the chip still hold our settings? Only bring-up writes MAMXFLL; a chip reset
     * (brown-out, RESET glitch, re-plug) returns it to 0x00, a chip that does not answer
     * reads 0x00 or 0xFF. Read twice before saying no: one garbled byte is not a reset.
     */
    async holdsSettings(): Promise<boolean> {
        return (await this.read(Reg.MAMXFLL)) === MAMXFL_LOW || (await this.read(Reg.MAMXFLL)) === MAMXFL_LOW
    }

    /** SRC: the chip resets; ECON1 (and so the bank) returns to 0. */
    async softReset(): Promise<void> {
        this.scratch[0] = OP_SRC
        await this.command(1)
        this.bank = 0
        this.readPtr = -1
    }

    /** Points ERDPT at addr unless it is already there. */
    async setReadPointer(addr: number): Promise<void> {
        if (this.readPtr === addr) return
        await this.write16(Reg.ERDPTL, addr)
        this.readPtr = addr
    }

    /**
     * Starts an RBM stream and reads n bytes into scratch[1..n]. Chip select stays
     * low: continue with readMore() and finish with endRead(). The caller updates
     * readPtr (only it knows the ring's wrap).
     */
    async beginRead(n: number): Promise<void> {
        const s = this.scratch
        s[0] = OP_RBM
        this.bus.select()
        await this.bus.transfer(s, 0, 1 + n)
    }

    /** Continues an RBM stream straight into buf[off..off+len). */
    async readMore(buf: Buffer, off: number, len: number): Promise<void> {
        await this.bus.transfer(buf, off, len)
    }

    endRead(): void {
        this.bus.deselect()
        this.counters.spiTransactions++
    }

    /**
     * WBM of `head` (one byte), buf[0..len) and `zeros` zero bytes (at most 7): one
     * chip-select cycle of three transfers, the chip writing on while CS stays low. The
     * caller's bytes are sent in place, so buf[0..len) then holds what MISO clocked in.
     */
    async writeBuffer(head: number, buf: Buffer, len: number, zeros: number): Promise<void> {
        const bus = this.bus
        const s = this.scratch
        s[0] = OP_WBM
        s[1] = head
        bus.select()
        await bus.transfer(s, 0, 2)
        await bus.transfer(buf, 0, len)
        fillBytes(s, 0, zeros, 0)
        await bus.transfer(s, 0, zeros)
        bus.deselect()
        this.counters.spiTransactions++
    }
}
