// The host end of src/hw/bridge-spi-bus.ts: a TCP server on 127.0.0.1 that plays the SPI
// bus for firmware running in the DeviceScript VM. It reads the firmware's messages
//   0x01 SELECT | 0x02 DESELECT | 0x03 lenHi lenLo data... (TRANSFER) | 0x00 padding
// applies them to the chip model in order, and answers each TRANSFER with its len MISO
// bytes. One client at a time (the VM has one socket); a new one replaces the old.

import { Server, Socket, createServer } from "node:net"

/** What the bridge needs of the chip model (sim/enc28j60/chip.ts). */
export interface BridgeChip {
    select(): void
    deselect(): void
    transfer(buf: Uint8Array, off: number, len: number): void
}

const OP_PAD = 0
const OP_SELECT = 1
const OP_DESELECT = 2
const OP_TRANSFER = 3

export interface BridgeStats {
    connections: number
    transfers: number
    bytes: number
    /** Messages with an unknown op: the stream cannot be trusted after one, so the client is dropped. */
    badOps: number
}

/** Parses the byte stream from one client; whatever a read leaves unfinished waits for the next. */
export class BridgeDecoder {
    private pending: Buffer = Buffer.alloc(0)

    constructor(
        private readonly chip: BridgeChip,
        private readonly stats: BridgeStats,
        private readonly answer: (miso: Buffer) => void,
    ) {}

    /** Feeds bytes; returns false on a protocol error (unknown op). */
    push(chunk: Buffer): boolean {
        let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk
        let i = 0
        while (i < buf.length) {
            const op = buf[i]
            if (op === OP_PAD) i++
            else if (op === OP_SELECT) {
                this.chip.select()
                i++
            } else if (op === OP_DESELECT) {
                this.chip.deselect()
                i++
            } else if (op === OP_TRANSFER) {
                if (buf.length - i < 3) break
                const len = buf.readUInt16BE(i + 1)
                if (buf.length - i - 3 < len) break
                // A copy: the chip writes MISO in place and the answer outlives this read.
                const data = Buffer.from(buf.subarray(i + 3, i + 3 + len))
                this.chip.transfer(data, 0, len)
                this.stats.transfers++
                this.stats.bytes += len
                this.answer(data)
                i += 3 + len
            } else {
                this.stats.badOps++
                this.pending = Buffer.alloc(0)
                return false
            }
        }
        buf = buf.subarray(i)
        this.pending = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0)
        return true
    }
}

export class VmBridge {
    readonly stats: BridgeStats = { connections: 0, transfers: 0, bytes: 0, badOps: 0 }
    private client: Socket = null
    private connectedWaiters: Array<() => void> = []

    private constructor(
        private readonly server: Server,
        readonly port: number,
    ) {}

    /** Listens on 127.0.0.1:port (0: an ephemeral port, see .port). */
    static listen(chip: BridgeChip, port = 0): Promise<VmBridge> {
        return new Promise((resolve, reject) => {
            let bridge: VmBridge = null
            const server = createServer((sock) => bridge.accept(chip, sock))
            server.once("error", reject)
            server.listen(port, "127.0.0.1", () => {
                server.removeListener("error", reject)
                bridge = new VmBridge(server, (server.address() as { port: number }).port)
                resolve(bridge)
            })
        })
    }

    /** Resolves once a client (the firmware) has connected. */
    connected(): Promise<void> {
        if (this.client) return Promise.resolve()
        return new Promise((resolve) => this.connectedWaiters.push(resolve))
    }

    private accept(chip: BridgeChip, sock: Socket): void {
        this.client?.destroy()
        this.client = sock
        this.stats.connections++
        // Answers are small and each one is awaited: never hold them back (Nagle).
        sock.setNoDelay(true)
        const decoder = new BridgeDecoder(chip, this.stats, (miso) => sock.write(miso))
        sock.on("data", (chunk: Buffer) => {
            if (!decoder.push(chunk)) sock.destroy()
        })
        sock.on("error", () => {
            // The VM went away; its runner reports that.
        })
        sock.on("close", () => {
            if (this.client === sock) this.client = null
        })
        for (const w of this.connectedWaiters.splice(0)) w()
    }

    async close(): Promise<void> {
        this.client?.destroy()
        this.client = null
        await new Promise<void>((resolve) => this.server.close(() => resolve()))
    }
}
