// Two NetDevices joined back to back in memory: what one transmits the other receives.
// Lets two whole stacks talk without a chip, in Node tests and inside the DeviceScript VM
// (socket tests, on-device self-tests). Each direction is a fixed queue of frame buffers
// allocated once; a full queue drops the frame, like a busy wire. Faults for tests:
// `down` drops everything (a peer that vanished), `lossEvery` drops every n-th frame,
// `filter` drops the frames it refuses.

import { NetDevice } from "../driver/net-device"
import { allocBytes, copyBytes } from "../util/bytes"
import { Kicker } from "./context"

/** Default largest frame: 1500-byte payload + 14-byte header + a VLAN tag's worth. */
export const MEMORY_LINK_FRAME = 1518

/** Decides per frame whether the wire carries it. */
export interface FrameFilter {
    pass(frame: Buffer, len: number): boolean
}

/** @devsWhenUsed */
export class MemoryNetDevice implements NetDevice {
    /** The other end. */
    peer: MemoryNetDevice = null
    /** Told when a frame arrives here (the receiving stack's pump), or null. */
    notify: Kicker = null
    /** Drop every frame sent from this end while true. */
    down = false
    /** Drop every n-th frame sent from this end (0 = none). */
    lossEvery = 0
    /** Frames sent from this end that it refuses are dropped; null = carry all. */
    filter: FrameFilter = null
    // Counters
    sent = 0
    received = 0
    dropped = 0

    /** Largest frame carried; longer ones are dropped. */
    readonly frameSize: number
    private frames: Buffer[] = []
    private lens: number[] = []
    private head = 0
    private count = 0

    constructor(queueFrames: number, frameSize: number) {
        this.frameSize = frameSize
        for (let i = 0; i < queueFrames; i++) {
            this.frames.push(allocBytes(frameSize))
            this.lens.push(0)
        }
    }

    async init(): Promise<void> {}

    async linkUp(): Promise<boolean> {
        return !this.down
    }

    async receive(buf: Buffer): Promise<number> {
        return this.receiveNow(buf)
    }

    /** The synchronous body of receive(). */
    receiveNow(buf: Buffer): number {
        if (this.count === 0) return 0
        const i = this.head
        let n = this.lens[i]
        if (n > buf.length) n = buf.length
        copyBytes(buf, 0, this.frames[i], 0, n)
        this.head = (this.head + 1) % this.frames.length
        this.count--
        this.received++
        return n
    }

    async transmit(buf: Buffer, len: number): Promise<boolean> {
        this.transmitNow(buf, len)
        return true
    }

    /** The synchronous body of transmit(): the frame is on the wire (or lost on it). */
    transmitNow(buf: Buffer, len: number): void {
        this.sent++
        const p = this.peer
        if (p === null || this.down || len > p.frameSize || (this.lossEvery > 0 && this.sent % this.lossEvery === 0) ||
            (this.filter !== null && !this.filter.pass(buf, len))) {
            this.dropped++
            return
        }
        if (!p.enqueue(buf, len)) this.dropped++
    }

    /** Frames waiting to be received here. */
    queued(): number {
        return this.count
    }

    private enqueue(buf: Buffer, len: number): boolean {
        if (this.count >= this.frames.length) return false
        const i = (this.head + this.count) % this.frames.length
        copyBytes(this.frames[i], 0, buf, 0, len)
        this.lens[i] = len
        this.count++
        if (this.notify !== null) this.notify.kick()
        return true
    }
}

/** Two devices joined to each other, each with a receive queue of queueFrames frames. */
/** @devsWhenUsed */
export class MemoryLink {
    readonly a: MemoryNetDevice
    readonly b: MemoryNetDevice

    constructor(queueFrames: number, frameSize?: number) {
        const size = frameSize ? frameSize : MEMORY_LINK_FRAME
        this.a = new MemoryNetDevice(queueFrames, size)
        this.b = new MemoryNetDevice(queueFrames, size)
        this.a.peer = this.b
        this.b.peer = this.a
    }

    /** Both directions up or down. */
    setDown(down: boolean): void {
        this.a.down = down
        this.b.down = down
    }
}
