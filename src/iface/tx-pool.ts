// The transmit frames: all allocated at start-up, recycled forever.
//
// A frame moves FREE -> ALLOCATED (a sender fills it) -> QUEUED (waiting for the pump)
// or PENDING_ARP (held by its ARP entry until the next hop answers) -> SENDING (the
// pump has it) -> FREE. Free frames and the transmit queue are singly linked through
// `next`, so nothing is allocated per packet.
//
// Besides the txFrames data frames there is one small control frame reserved for ARP:
// pending packets (at most txFrames - 1, interface.ts) and senders may hold every data
// frame, and the request that would release them must still get out.

import { allocBytes } from "../util/bytes"
import { ETHERNET_MIN_FRAME_LEN } from "../wire/ethernet"

export const TX_FREE = 0
export const TX_ALLOCATED = 1
export const TX_PENDING_ARP = 2
export const TX_QUEUED = 3
export const TX_SENDING = 4

/** @devsWhenUsed */
export class TxFrame {
    /** The whole Ethernet frame, destination MAC first; fixed size, allocated once. */
    buf: Buffer
    /** Bytes to send (at least 60: short frames are zero-padded). */
    len: number
    state: number
    /** Free-list / transmit-queue link. */
    next: TxFrame
    /** IPv4 next hop this frame waits for (PENDING_ARP only). */
    nextHop: number
    constructor(size: number) {
        this.buf = allocBytes(size)
        this.len = 0
        this.state = TX_FREE
        this.next = null
        this.nextHop = 0
    }
}

/** @devsWhenUsed */
export class TxPool {
    frames: TxFrame[]
    /** Reserved for ARP requests and replies (60 bytes). */
    controlFrame: TxFrame
    private freeHead: TxFrame
    private queueHead: TxFrame
    private queueTail: TxFrame
    private freeCount: number
    private queueLength: number

    constructor(count: number, frameSize: number) {
        this.frames = []
        this.freeHead = null
        for (let i = 0; i < count; i++) {
            const f = new TxFrame(frameSize)
            f.next = this.freeHead
            this.freeHead = f
            this.frames.push(f)
        }
        this.freeCount = count
        this.controlFrame = new TxFrame(ETHERNET_MIN_FRAME_LEN)
        this.queueHead = null
        this.queueTail = null
        this.queueLength = 0
    }

    /** A free data frame (state ALLOCATED), or null when all are in use. */
    alloc(): TxFrame {
        const f = this.freeHead
        if (f === null) return null
        this.freeHead = f.next
        this.freeCount--
        f.next = null
        f.len = 0
        f.state = TX_ALLOCATED
        return f
    }

    /** The control frame if it is free, else a data frame, else null. */
    allocControl(): TxFrame {
        const c = this.controlFrame
        if (c.state === TX_FREE) {
            c.state = TX_ALLOCATED
            c.len = 0
            c.next = null
            return c
        }
        return this.alloc()
    }

    /** Returns a frame to the pool. Releasing a free frame is ignored (keeps the list sound). */
    release(f: TxFrame): void {
        if (f === null || f.state === TX_FREE || f.state === TX_QUEUED) return
        f.state = TX_FREE
        f.nextHop = 0
        if (f === this.controlFrame) {
            f.next = null
            return
        }
        f.next = this.freeHead
        this.freeHead = f
        this.freeCount++
    }

    /** Appends a filled frame to the transmit queue. */
    enqueue(f: TxFrame): void {
        f.state = TX_QUEUED
        f.next = null
        if (this.queueTail === null) this.queueHead = f
        else this.queueTail.next = f
        this.queueTail = f
        this.queueLength++
    }

    /** Takes the oldest queued frame (state SENDING), or null. */
    dequeue(): TxFrame {
        const f = this.queueHead
        if (f === null) return null
        this.queueHead = f.next
        if (this.queueHead === null) this.queueTail = null
        this.queueLength--
        f.next = null
        f.state = TX_SENDING
        return f
    }

    /** Free data frames (the control frame not included). */
    free(): number {
        return this.freeCount
    }

    /** Frames waiting in the transmit queue. */
    queued(): number {
        return this.queueLength
    }

    /** Data frames in the given state (for tests and the status page; not for hot paths). */
    countState(state: number): number {
        let n = 0
        for (let i = 0; i < this.frames.length; i++) if (this.frames[i].state === state) n++
        return n
    }
}
