// SpiBus for the DeviceScript simulator, which has no SPI: the bus is carried over the VM's
// one TCP socket to the host's chip model (sim/vm-bridge.ts). Messages to the host:
//   0x01 SELECT | 0x02 DESELECT | 0x03 lenHi lenLo data... (TRANSFER) | 0x00 padding
// and the host answers each TRANSFER with exactly len MISO bytes, nothing else.
// SELECT/DESELECT need no answer, so they ride in front of the next TRANSFER: one write
// and one round trip per transfer. (A lone small write would also meet Nagle's algorithm.)
//
// _socketWrite() sends a whole buffer, and buffers cannot be resized, so a message goes out
// in the smallest preallocated power-of-two buffer it fits, padded with 0x00.
import * as ds from "@devicescript/core"
import { SpiBus } from "../driver/spi-bus"
import { allocBytes, copyBytes, fillBytes } from "../util/bytes"

/** The host bridge's well-known port; sim/vm-runner.ts redirects it to the real one. */
export const BRIDGE_PORT = 47260

type DsNet = typeof ds & {
    _socketOpen(host: string, port: number): number
    _socketWrite(buf: Buffer): number
    _socketOnEvent: (event: string, arg: Buffer) => void
}

/** Message buffers 2^3 .. 2^10 bytes (2 KB in all); a transfer longer than CHUNK takes several round trips. */
const MIN_BITS = 3
const MAX_BITS = 10
const CHUNK = (1 << MAX_BITS) - 8
/** No answer for this long: the host is gone. */
const TIMEOUT_MS = 5000

/** The VM has one socket, so one bus; its event handler fills the transfer in flight. */
let bridge: BridgeSpiBus = null

function onSocketEvent(event: string, arg: Buffer): void {
    const b = bridge
    if (event === "data") {
        const n = Math.min(arg.length, b.want - b.got)
        copyBytes(b.dst, b.dstOff + b.got, arg, 0, n)
        b.got += n
        if (b.got < b.want) return
    } else if (event === "open") b.up = true
    else b.down = true
    const f = b.fiber
    if (f && f.suspended) f.resume(1)
}

/** @devsWhenUsed */
export class BridgeSpiBus implements SpiBus {
    msgs: Buffer[] = []
    /** SELECT/DESELECT not sent yet (at most 2: a select undone before any byte is dropped). */
    ops = allocBytes(4)
    nops = 0
    /** (up, down, fiber and dst start undefined, i.e. false/none: no initialisers, to save code.) */
    up: boolean
    down: boolean
    fiber: ds.Fiber
    /** The transfer in flight: MISO bytes go to dst[dstOff + got], want in all. */
    dst: Buffer
    dstOff = 0
    got = 0
    want = 0

    /** Connects to the host bridge at 127.0.0.1:BRIDGE_PORT; throws when it cannot. */
    static async open(): Promise<BridgeSpiBus> {
        const b = new BridgeSpiBus()
        for (let i = MIN_BITS; i <= MAX_BITS; i++) b.msgs.push(allocBytes(1 << i))
        bridge = b
        const net = ds as DsNet
        net._socketOnEvent = onSocketEvent
        if (net._socketOpen("127.0.0.1", BRIDGE_PORT) !== 0) throw new Error("bridge: no socket")
        await b.waitFor()
        return b
    }

    select(): void {
        if (this.nops < 4) this.ops[this.nops++] = 1
    }

    deselect(): void {
        if (this.nops > 0 && this.ops[this.nops - 1] === 1) this.nops--
        else if (this.nops < 4) this.ops[this.nops++] = 2
    }

    async transfer(buf: Buffer, off: number, len: number): Promise<void> {
        while (len > 0) {
            const n = Math.min(len, CHUNK)
            const size = this.nops + 3 + n
            let bits = MIN_BITS
            while (1 << bits < size) bits++
            const m = this.msgs[bits - MIN_BITS]
            copyBytes(m, 0, this.ops, 0, this.nops)
            const p = this.nops
            m[p] = 3
            m[p + 1] = n >> 8
            m[p + 2] = n & 0xff
            copyBytes(m, p + 3, buf, off, n)
            fillBytes(m, size, m.length - size, 0)
            this.nops = 0
            this.dst = buf
            this.dstOff = off
            this.got = 0
            this.want = n
            if ((ds as DsNet)._socketWrite(m) !== 0) this.down = true
            await this.waitFor()
            off += n
            len -= n
        }
    }

    /** Suspends until the transfer in flight is answered (or the socket is open); throws when the host is gone. */
    async waitFor(): Promise<void> {
        const deadline = ds.millis() + TIMEOUT_MS
        while (!this.up || this.got < this.want) {
            if (this.down || ds.millis() > deadline) throw new Error("bridge: host gone")
            this.fiber = ds.Fiber.self()
            // 1 ms: the VM only looks at socket events between its timer ticks.
            await ds.suspend<number>(1)
            this.fiber = null
        }
    }
}
