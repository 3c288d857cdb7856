// Time as the driver sees it: a millisecond clock and a way to wait.
// On the device these are ds.millis()/ds.sleep(); in the simulator a virtual clock.

export interface DriverTiming {
    nowMs(): number
    delayMs(ms: number): Promise<void>
}
