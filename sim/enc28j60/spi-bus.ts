// The driver's SpiBus wired straight to the chip model. Each transfer takes the time its
// bytes need on the bus (8 bits at the chip's sckHz), in one of two ways:
//
// - shared clock (default): transfer() moves the chip's VirtualClock on at once, so polling
//   loops (MISTAT.BUSY, ECON1.TXRTS, ESTAT.CLKRDY) see time pass even without a scheduler.
//   With several boards on one clock their bus times add up, as if they took turns.
// - per board (`wait` given): the chip takes the bytes at once, and transfer() resolves
//   after their duration on `wait` (a scheduler timer): this board is busy meanwhile while
//   the others run, as two real boards' SPI buses work side by side.

import type { SpiBus } from "../../src/driver/spi-bus"
import { VirtualClock } from "../clock"
import type { Enc28j60Chip } from "./chip"

const RESOLVED: Promise<void> = Promise.resolve()

export class ChipSpiBus implements SpiBus {
    /** Bytes transferred and transfer() calls, for performance tests. */
    bytes = 0
    transfers = 0
    /** Bus time not yet waited for (per board): below 1 µs it is carried to the next transfer. */
    private owedUs = 0

    /** wait(us): resolves after `us` whole microseconds of this board's time (per-board bus time). */
    constructor(
        readonly chip: Enc28j60Chip,
        private readonly wait?: (us: number) => Promise<void>,
    ) {}

    select(): void {
        this.chip.select()
    }

    deselect(): void {
        this.chip.deselect()
    }

    transfer(buf: Buffer, off: number, len: number): Promise<void> {
        this.chip.transfer(buf, off, len)
        this.bytes += len
        this.transfers++
        const us = (len * 8 * 1e6) / this.chip.sckHz
        if (this.wait) {
            // Whole microseconds per timer; the fractions add up, so the total stays exact.
            this.owedUs += us
            const whole = Math.floor(this.owedUs)
            if (whole < 1) return RESOLVED
            this.owedUs -= whole
            return this.wait(whole)
        }
        const clock = this.chip.clock
        if (clock instanceof VirtualClock) clock.advanceUs(us)
        return RESOLVED
    }
}
