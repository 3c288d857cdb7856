// PHY registers through the MII management interface (datasheet 3.3).
// Every access waits on MISTAT.BUSY with a timeout: a stuck MII must not hang the driver.

import { Enc28j60Spi } from "./spi-commands"
import { DriverTiming } from "./timing"
import { Enc28j60Counters } from "./counters"
import { MICMD_MIIRD, MISTAT_BUSY, Reg } from "./registers"

/** Polls before the wait starts sleeping: the MII takes 10.24 us (16 polls at 20 MHz SCK), far less than 1 ms. */
const FAST_POLLS = 16
/** Upper bound on polls, in case the clock does not move. */
const MAX_POLLS = 2000

/** @devsWhenUsed */
export class Enc28j60Phy {
    constructor(
        private spi: Enc28j60Spi,
        private timing: DriverTiming,
        private counters: Enc28j60Counters,
        private timeoutMs: number
    ) {}

    /**
     * Waits for MISTAT.BUSY to clear; false (counted) after the timeout. Idle must be
     * read twice in a row: touching MICMD/MIREGADR or MIRD while busy is not allowed,
     * so one garbled SPI byte must not end the wait early.
     */
    private async waitIdle(): Promise<boolean> {
        const timing = this.timing
        const start = timing.nowMs()
        let idle = 0
        for (let i = 0; i < MAX_POLLS; i++) {
            const st = await this.spi.read(Reg.MISTAT)
            if ((st & MISTAT_BUSY) === 0) {
                if (++idle >= 2) return true
                continue
            }
            idle = 0
            if (timing.nowMs() - start > this.timeoutMs) break
            if (i >= FAST_POLLS) await timing.delayMs(1)
        }
        this.counters.phyTimeouts++
        return false
    }

    /** Reads a 16-bit PHY register; -1 on timeout. */
    async read(phyReg: number): Promise<number> {
        const spi = this.spi
        await spi.write(Reg.MIREGADR, phyReg)
        await spi.write(Reg.MICMD, MICMD_MIIRD)
        const ok = await this.waitIdle()
        // MIIRD must be cleared after the read completes (datasheet 3.3.1), even on timeout.
        await spi.write(Reg.MICMD, 0)
        if (!ok) return -1
        const lo = await spi.read(Reg.MIRDL)
        const hi = await spi.read(Reg.MIRDH)
        return lo | (hi << 8)
    }

    /** Writes a 16-bit PHY register (writing MIWRH starts it); false on timeout. */
    async write(phyReg: number, value: number): Promise<boolean> {
        const spi = this.spi
        await spi.write(Reg.MIREGADR, phyReg)
        await spi.write(Reg.MIWRL, value & 0xff)
        await spi.write(Reg.MIWRH, (value >> 8) & 0xff)
        return await this.waitIdle()
    }
}
