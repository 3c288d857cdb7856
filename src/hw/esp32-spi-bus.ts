// SpiBus on the ESP32: DeviceScript's SPI peripheral plus a GPIO chip select.
//
// The runtime's spiXfer() clocks whole buffers (tx and rx of equal length, at most
// 4096 bytes) and cannot take a range, and DeviceScript buffers cannot be resized.
// So a transfer of any length is split into power-of-two chunks (1514 bytes =
// 512+512+256+128+64+32+8+2), each with its own preallocated tx/rx pair: 2 x 1023 B,
// allocated once (chunks up to 512 B, not 1024: half the memory, the same 2 KB as the VM's
// bridge, for one more SPI transfer per full frame). CS stays low across chunks, so a buffer-memory stream is unbroken.
//
// Chip select is driven with the GPIO object's native setMode(OutputLow/OutputHigh), which
// is all that @devicescript/gpio's write() does after a mode check. Importing that package
// would compile in its pin-change polling (setInterval, emitters): about 1.7 KB of the
// 64 KB function-code budget for something this bus never uses.
import * as ds from "@devicescript/core"
import { SpiBus } from "../driver/spi-bus"
import { allocBytes, copyBytes } from "../util/bytes"

/** The native GPIO object's mode setter (declared by @devicescript/gpio, which we do not import). */
type DsPin = { setMode(mode: ds.GPIOMode): void }

type DsSpi = typeof ds & {
    spiConfigure(miso: number, mosi: number, sck: number, mode: number, hz: number): void
    spiXfer(tx: Buffer, rx: Buffer): Promise<void>
}

/** Largest chunk: 2^CHUNK_BITS bytes (9: 2 KB of chunk buffers; 10 took 4 KB of the 64 KB heap). */
const CHUNK_BITS = 9

/** @devsWhenUsed */
export class Esp32SpiBus implements SpiBus {
    private cs: DsPin
    private tx: Buffer[]
    private rx: Buffer[]

    /**
     * GPIO numbers of the bus and of chip select (positional, not an options object: an object
     * literal is code); hz is SCK, 8 MHz at least (errata 1: MAC/MII reads fail below 8 MHz on
     * rev B1/B4), 20 MHz at most.
     */
    constructor(sck: number, mosi: number, miso: number, cs: number, hz: number) {
        ;(ds as DsSpi).spiConfigure(miso, mosi, sck, 0, Math.max(8000000, Math.min(20000000, hz)))
        this.cs = ds.gpio(cs) as any as DsPin
        this.cs.setMode(ds.GPIOMode.OutputHigh)
        this.tx = []
        this.rx = []
        for (let i = 0; i <= CHUNK_BITS; i++) {
            this.tx.push(allocBytes(1 << i))
            this.rx.push(allocBytes(1 << i))
        }
    }

    select(): void {
        this.cs.setMode(ds.GPIOMode.OutputLow)
    }

    deselect(): void {
        this.cs.setMode(ds.GPIOMode.OutputHigh)
    }

    async transfer(buf: Buffer, off: number, len: number): Promise<void> {
        const spi = ds as DsSpi
        while (len > 0) {
            let bits = CHUNK_BITS
            while (1 << bits > len) bits--
            const n = 1 << bits
            const tx = this.tx[bits]
            const rx = this.rx[bits]
            copyBytes(tx, 0, buf, off, n)
            await spi.spiXfer(tx, rx)
            copyBytes(buf, off, rx, 0, n)
            off += n
            len -= n
        }
    }
}
