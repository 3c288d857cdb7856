// Command-level access to the chip model over raw exchange() calls: what a minimal
// driver does, for tests and tools. Bank switching is explicit (bank()) or automatic
// (readReg/writeReg take a register key from registers.ts). Every byte advances a
// VirtualClock by its bus time, like ChipSpiBus.

import { VirtualClock } from "../clock"
import type { Enc28j60Chip } from "./chip"
import * as R from "./registers"

export class RawSpi {
    constructor(readonly chip: Enc28j60Chip) {}

    /** One whole command: CS low, the bytes, CS high. Returns what came back. */
    command(bytes: number[]): number[] {
        const c = this.chip
        c.select()
        const out = bytes.map((b) => this.byte(b))
        c.deselect()
        return out
    }

    /** RCR of an ETH register in the current bank (opcode + one data byte). */
    rcr(addr: number): number {
        return this.command([addr & 0x1f, 0])[1]
    }

    /** RCR of a MAC/MII register in the current bank (opcode, dummy byte, data byte). */
    rcrMac(addr: number): number {
        return this.command([addr & 0x1f, 0, 0])[2]
    }

    wcr(addr: number, v: number): void {
        this.command([0x40 | (addr & 0x1f), v & 0xff])
    }

    bfs(addr: number, mask: number): void {
        this.command([0x80 | (addr & 0x1f), mask & 0xff])
    }

    bfc(addr: number, mask: number): void {
        this.command([0xa0 | (addr & 0x1f), mask & 0xff])
    }

    /** System reset command. */
    src(): void {
        this.command([0xff])
    }

    /** RBM: len bytes from ERDPT. */
    rbm(len: number): Buffer {
        const c = this.chip
        c.select()
        this.byte(0x3a)
        const out = Buffer.alloc(len)
        for (let i = 0; i < len; i++) out[i] = this.byte(0)
        c.deselect()
        return out
    }

    /** WBM: data to EWRPT. */
    wbm(data: Uint8Array): void {
        const c = this.chip
        c.select()
        this.byte(0x7a)
        for (let i = 0; i < data.length; i++) this.byte(data[i])
        c.deselect()
    }

    /** Selects a bank with BFC/BFS on ECON1.BSEL (ECON1 is in every bank). */
    bank(b: number): void {
        this.bfc(R.ECON1, R.ECON1_BSEL)
        if (b & 3) this.bfs(R.ECON1, b & 3)
    }

    /** Reads any register by key, switching bank and adding the dummy byte as needed. */
    readReg(key: number): number {
        this.selectBankOf(key)
        return R.isMacMii(key) ? this.rcrMac(key & 0x1f) : this.rcr(key & 0x1f)
    }

    writeReg(key: number, v: number): void {
        this.selectBankOf(key)
        this.wcr(key & 0x1f, v)
    }

    /** A 16-bit register pair, low byte first. */
    readReg16(keyL: number): number {
        return this.readReg(keyL) | (this.readReg(keyL + 1) << 8)
    }

    writeReg16(keyL: number, v: number): void {
        this.writeReg(keyL, v & 0xff)
        this.writeReg(keyL + 1, (v >> 8) & 0xff)
    }

    /** Moves the clock on (VirtualClock only). */
    waitUs(us: number): void {
        const clock = this.chip.clock
        if (clock instanceof VirtualClock) clock.advanceUs(us)
    }

    /** PHY read per section 3.3.1, polling MISTAT.BUSY (bounded). Returns -1 on timeout. */
    phyRead(addr: number): number {
        this.writeReg(R.MIREGADR, addr)
        this.writeReg(R.MICMD, R.MICMD_MIIRD)
        if (!this.waitMiiIdle()) return -1
        this.writeReg(R.MICMD, 0)
        return this.readReg(R.MIRDL) | (this.readReg(R.MIRDH) << 8)
    }

    /** PHY write per section 3.3.2. Returns false on timeout. */
    phyWrite(addr: number, v: number): boolean {
        this.writeReg(R.MIREGADR, addr)
        this.writeReg(R.MIWRL, v & 0xff)
        this.writeReg(R.MIWRH, (v >> 8) & 0xff)
        return this.waitMiiIdle()
    }

    private waitMiiIdle(): boolean {
        for (let i = 0; i < 1000; i++) {
            if ((this.readReg(R.MISTAT) & R.MISTAT_BUSY) === 0) return true
            this.waitUs(1)
        }
        return false
    }

    private selectBankOf(key: number): void {
        if (key >= 0x1b && key <= 0x1f) return
        const want = key >> 5
        if ((this.chip.peekRegister(0, R.ECON1) & R.ECON1_BSEL) !== want) this.bank(want)
    }

    private byte(b: number): number {
        const c = this.chip
        const v = c.exchange(b)
        const clock = c.clock
        if (clock instanceof VirtualClock) clock.advanceUs(8e6 / c.sckHz)
        return v
    }
}
