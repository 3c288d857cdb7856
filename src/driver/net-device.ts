// What the stack needs from an Ethernet controller. The driver owns the chip; the
// stack only hands it whole frames (destination MAC first, no FCS).

export interface NetDevice {
    /** Brings the chip up. Rejects if no chip answers. */
    init(): Promise<void>
    /**
     * Copies the next received frame into buf (from offset 0) and returns its length,
     * or 0 when nothing is waiting. Bad frames are dropped and counted inside.
     */
    receive(buf: Buffer): Promise<number>
    /**
     * Sends buf[0..len). Resolves false if the frame could not be sent (counted).
     * buf[0..len) is undefined after transmit returns, whatever the outcome: a driver
     * may clock the frame out of it in place on a full-duplex bus, which overwrites it
     * with what came back. A caller that sends a frame again builds it again.
     */
    transmit(buf: Buffer, len: number): Promise<boolean>
    /** True while the PHY reports link. */
    linkUp(): Promise<boolean>
}
