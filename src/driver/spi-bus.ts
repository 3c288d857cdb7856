// The bus a chip driver talks through: full-duplex SPI plus a chip select we drive.
//
// On the ESP32 the SPI peripheral does not drive CS, so select/deselect are a GPIO;
// in the simulator they go straight to the chip model. A command is
// select(), one or more transfer() calls, deselect(): a buffer-memory stream may
// span several transfers while CS stays low.

export interface SpiBus {
    /** Pulls chip select low: the chip starts decoding a new command. */
    select(): void
    /** Releases chip select: ends the current command. */
    deselect(): void
    /**
     * Clocks out buf[off..off+len) and replaces those bytes with what was clocked in.
     * Suspends the caller on the device (the ESP32's SPI is DMA-driven).
     */
    transfer(buf: Buffer, off: number, len: number): Promise<void>
}
