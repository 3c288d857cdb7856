// The MII management interface between the MAC and the PHY (datasheet section 3.3):
// MICMD, MIREGADR, MIWRL/H, MIRDL/H and MISTAT, with the 10.24 µs BUSY time and the
// ordering rules a driver must follow.

import { Phy } from "./phy"
import * as R from "./registers"

/** Section 3.3.1: an MII read or write takes 10.24 µs. */
export const MII_US = 10.24

const IDLE = 0
const READ = 1
const WRITE = 2

/** What the MII engine uses of the chip. */
export interface MiiHost {
    readonly regs: Uint8Array
    readonly phy: Phy
    /** Time of the current command, in µs. */
    nowUs(): number
    /** ECON2.PWRSV: the PHY cannot be reached. */
    powerSave(): boolean
    violate(msg: string): void
}

export class Mii {
    /** When the running read or write completes (Infinity when idle). */
    doneAt = Infinity
    private op = IDLE
    private addr = 0
    private value = 0
    private scan = false
    private scanValidAt = 0

    constructor(private readonly host: MiiHost) {}

    reset(): void {
        this.op = IDLE
        this.doneAt = Infinity
        this.scan = false
    }

    /** MISTAT.BUSY: a read, write or scan is running. */
    busy(): boolean {
        return this.op !== IDLE || this.scan
    }

    /** The MISTAT register. */
    status(): number {
        const valid = this.host.nowUs() >= this.scanValidAt
        return (this.busy() ? R.MISTAT_BUSY : 0) | (this.scan ? R.MISTAT_SCAN : 0) | (this.scan && !valid ? R.MISTAT_NVALID : 0)
    }

    /** MICMD written: a rising MIIRD starts a read, a rising MIISCAN starts scanning. */
    writeCommand(value: number): void {
        const h = this.host
        const r = h.regs
        const old = r[R.MICMD]
        const now = value & (R.MICMD_MIIRD | R.MICMD_MIISCAN)
        r[R.MICMD] = now
        if (now & R.MICMD_MIIRD && !(old & R.MICMD_MIIRD)) {
            if (this.busy()) h.violate("MICMD.MIIRD set while MISTAT.BUSY is set (ignored)")
            else if (this.allowed("PHY read")) this.start(READ, 0)
        }
        if (old & R.MICMD_MIIRD && !(now & R.MICMD_MIIRD) && this.op === READ)
            h.violate("MICMD.MIIRD cleared while MISTAT.BUSY is set (section 3.3.1: wait, then clear)")
        if (now & R.MICMD_MIISCAN && !(old & R.MICMD_MIISCAN)) {
            if (this.op !== IDLE) h.violate("MICMD.MIISCAN set while MISTAT.BUSY is set (ignored)")
            else if (this.allowed("PHY scan")) {
                this.scan = true
                this.addr = r[R.MIREGADR]
                this.scanValidAt = h.nowUs() + MII_US
            }
        }
        if (old & R.MICMD_MIISCAN && !(now & R.MICMD_MIISCAN)) this.scan = false
    }

    /** MIREGADR or MIWRL written; ignored while busy. */
    writeOperand(key: number, value: number): void {
        if (this.busy()) {
            this.host.violate(`${R.regName(key)} written while MISTAT.BUSY is set (ignored, section 3.3)`)
            return
        }
        this.host.regs[key] = key === R.MIREGADR ? value & 0x1f : value & 0xff
    }

    /** MIWRH written: starts the PHY write of MIWRH:MIWRL (section 3.3.2). */
    writeHigh(high: number): void {
        const h = this.host
        const r = h.regs
        if (this.busy()) {
            h.violate("MIWRH written while MISTAT.BUSY is set (ignored, section 3.3.2)")
            return
        }
        if (r[R.MICMD] & R.MICMD_MIIRD) h.violate("PHY write started while MICMD.MIIRD is still set (section 3.3.1 step 4)")
        if (!this.allowed("PHY write")) return
        r[R.MIWRH] = high
        this.start(WRITE, r[R.MIWRL] | (high << 8))
    }

    /** RCR of MIRDL/MIRDH: rule checks, and in scan mode the live register. */
    readData(key: number): number {
        const h = this.host
        if (this.op === READ) h.violate(`${R.regName(key)} read while MISTAT.BUSY is set (section 3.3.1)`)
        else if (h.regs[R.MICMD] & R.MICMD_MIIRD) h.violate(`${R.regName(key)} read before MICMD.MIIRD was cleared (section 3.3.1 step 4)`)
        if (this.scanning()) return this.byteOf(key, h.phy.read(this.addr))
        return h.regs[key]
    }

    /** MIRDL/MIRDH without side effects. */
    peekData(key: number): number {
        if (this.scanning()) return this.byteOf(key, this.host.phy.peek(this.addr))
        return this.host.regs[key]
    }

    /** The running read or write ends: MIRD gets the PHY register, or the PHY takes MIWR. */
    complete(): void {
        const h = this.host
        if (this.op === READ) {
            const v = h.phy.read(this.addr)
            h.regs[R.MIRDL] = v & 0xff
            h.regs[R.MIRDH] = v >> 8
        } else if (this.op === WRITE) {
            h.phy.write(this.addr, this.value)
        }
        this.op = IDLE
        this.doneAt = Infinity
    }

    private start(op: number, value: number): void {
        this.op = op
        this.addr = this.host.regs[R.MIREGADR]
        this.value = value
        this.doneAt = this.host.nowUs() + MII_US
    }

    private scanning(): boolean {
        return this.scan && this.host.nowUs() >= this.scanValidAt
    }

    private byteOf(key: number, v: number): number {
        return key === R.MIRDL ? v & 0xff : v >> 8
    }

    private allowed(what: string): boolean {
        if (this.host.powerSave()) {
            this.host.violate(`${what} in power-save mode (ECON2.PWRSV): ignored`)
            return false
        }
        return true
    }
}
