// Time for the simulator, in microseconds.
//
// The chip model measures its own delays (MII busy, transmit frame time, DMA,
// oscillator start-up) against a SimClock. Tests use a VirtualClock, which only moves
// when told to (the SPI bus moves it by the time each byte takes on the wire), so a
// run is deterministic; the interactive simulator uses the RealClock.

export interface SimClock {
    /** Microseconds since an arbitrary origin; never decreases. */
    nowUs(): number
}

/** A clock that stands still until advanceUs() is called. Starts at 0. */
export class VirtualClock implements SimClock {
    private us = 0

    nowUs(): number {
        return this.us
    }

    /** Moves time forward; negative or non-finite steps are ignored. */
    advanceUs(us: number): void {
        if (us > 0 && us !== Infinity) this.us += us
    }
}

/** Wall-clock time from performance.now(). */
export class RealClock implements SimClock {
    nowUs(): number {
        return performance.now() * 1000
    }
}
