// The driver's SpiBus wired straight to the chip model. Each transferred byte also
// moves a VirtualClock on by the time it takes on the bus (8 bits at the chip's sckHz),
// so polling loops (MISTAT.BUSY, ECON1.TXRTS, ESTAT.CLKRDY) see time pass.

import type { SpiBus } from "../../src/driver/spi-bus"
import { VirtualClock } from "../clock"
import type { Enc28j60Chip } from "./chip"

const RESOLVED: Promise<void> = Promise.resolve()

export class ChipSpiBus implements SpiBus {
    /** Bytes transferred and transfer() calls, for performance tests. */
    bytes = 0
    transfers = 0

    constructor(readonly chip: Enc28j60Chip) {}

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
        const clock = this.chip.clock
        if (clock instanceof VirtualClock) clock.advanceUs((len * 8 * 1e6) / this.chip.sckHz)
        return RESOLVED
    }
}
