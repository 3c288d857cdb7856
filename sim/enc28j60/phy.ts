// The integrated 10BASE-T PHY's register file and link state (datasheet section 3.3,
// Table 3-3, section 12.1.5). The MII timing (MISTAT.BUSY) lives in the chip; this
// class only answers reads and writes once the MII operation completes.

import {
    PHCON1, PHCON1_PDPXMD, PHCON1_PLOOPBK, PHCON1_PPWRSV, PHCON1_PRST, PHCON2, PHCON2_FRCLNK,
    PHCON2_HDLDIS, PHCON2_TXDIS, PHIE, PHIE_PGEIE, PHIE_PLNKIE, PHIR, PHIR_PGIF, PHIR_PLNKIF,
    PHSTAT1, PHSTAT1_LLSTAT, PHSTAT1_PFDPX, PHSTAT1_PHDPX, PHSTAT2, PHSTAT2_DPXSTAT, PHSTAT2_LSTAT,
    PHY_RESET_VALUES, PHY_WRITE_MASK,
} from "./registers"

export class Phy {
    private regs = new Uint16Array(32)
    /** Whether a link partner is plugged in (the cable). */
    private cable = true
    /** PHSTAT1.LLSTAT: latches low when the link drops, refreshed by reading PHSTAT1. */
    private llstat = false
    /** PHIR.PLNKIF: set on every link change, cleared by reading PHIR. */
    private plnkif = false
    private lastLink = false

    constructor() {
        this.reset()
    }

    /** PHY reset (power-on, system reset or PHCON1.PRST). The cable is not part of it. */
    reset(): void {
        this.regs.fill(0)
        for (const k of Object.keys(PHY_RESET_VALUES)) this.regs[Number(k)] = PHY_RESET_VALUES[Number(k)]
        this.llstat = false
        this.plnkif = false
        this.lastLink = this.linkStatus()
    }

    /** Plugs or unplugs the cable. */
    setCable(up: boolean): void {
        this.cable = up
        this.noteLinkChange()
    }

    cableUp(): boolean {
        return this.cable
    }

    /** PHSTAT2.LSTAT: the live link status. */
    linkStatus(): boolean {
        if (this.regs[PHCON2] & PHCON2_FRCLNK) return true
        return this.cable && (this.regs[PHCON1] & PHCON1_PPWRSV) === 0
    }

    /** True when frames can pass between the jack and the MAC. */
    carrier(): boolean {
        return this.cable && (this.regs[PHCON1] & (PHCON1_PPWRSV | PHCON1_PLOOPBK)) === 0
    }

    /** PHCON1.PDPXMD: the PHY runs full duplex. */
    fullDuplex(): boolean {
        return (this.regs[PHCON1] & PHCON1_PDPXMD) !== 0
    }

    /** PHCON1.PLOOPBK: transmitted frames come back to the receiver only. */
    loopback(): boolean {
        return (this.regs[PHCON1] & PHCON1_PLOOPBK) !== 0
    }

    /** PHCON2.TXDIS: the twisted-pair transmitter is off. */
    transmitterDisabled(): boolean {
        return (this.regs[PHCON2] & PHCON2_TXDIS) !== 0
    }

    /**
     * Errata 9: in half duplex the PHY loops transmitted frames back to the receiver
     * unless PHCON2.HDLDIS is set.
     */
    halfDuplexLoopback(): boolean {
        return !this.fullDuplex() && (this.regs[PHCON2] & PHCON2_HDLDIS) === 0
    }

    /** PHIR.PGIF, which EIR.LINKIF shadows: needs PHIE.PLNKIE and PHIE.PGEIE (section 12.1.5). */
    linkInterrupt(): boolean {
        const ie = this.regs[PHIE]
        return this.plnkif && (ie & PHIE_PLNKIE) !== 0 && (ie & PHIE_PGEIE) !== 0
    }

    /** Value of a PHY register without side effects. */
    peek(addr: number): number {
        switch (addr) {
            case PHSTAT1:
                return PHSTAT1_PFDPX | PHSTAT1_PHDPX | (this.llstat ? PHSTAT1_LLSTAT : 0)
            case PHSTAT2:
                return (this.linkStatus() ? PHSTAT2_LSTAT : 0) | (this.fullDuplex() ? PHSTAT2_DPXSTAT : 0)
            case PHIR:
                return (this.plnkif ? PHIR_PLNKIF : 0) | (this.linkInterrupt() ? PHIR_PGIF : 0)
            default:
                return this.regs[addr & 0x1f]
        }
    }

    /** An MII read: PHSTAT1 refreshes LLSTAT after reporting it; PHIR clears on read. */
    read(addr: number): number {
        const v = this.peek(addr)
        if (addr === PHSTAT1) this.llstat = this.linkStatus()
        if (addr === PHIR) this.plnkif = false
        return v
    }

    /** An MII write of the whole 16-bit register; unimplemented registers ignore it. */
    write(addr: number, value: number): void {
        const mask = PHY_WRITE_MASK[addr]
        if (mask === undefined) return
        if (addr === PHCON1 && value & PHCON1_PRST) {
            // PHY reset completes within the MII cycle in this model; PRST reads back 0.
            this.reset()
            this.noteLinkChange()
            return
        }
        this.regs[addr] = value & mask
        this.noteLinkChange()
    }

    private noteLinkChange(): void {
        const now = this.linkStatus()
        if (now === this.lastLink) return
        this.lastLink = now
        this.plnkif = true
        if (!now) this.llstat = false
    }
}
