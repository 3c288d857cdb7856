// A fixed-size byte ring, allocated once.
//
// Data occupies `count` bytes starting at `head` and wraps at `capacity`. Every
// operation copies at most two contiguous chunks with copyBytes (native blit on the
// device). Besides FIFO use, writeAt() stores bytes past the end of the data without
// making them readable (the TCP receive path parks out-of-order data there) and peek()
// reads at any offset without consuming (the send path reads retransmissions there).

import { allocBytes, copyBytes } from "../util/bytes"

/** @devsWhenUsed */
export class RingBuffer {
    readonly buf: Buffer
    readonly capacity: number
    /** Index in buf of the first readable byte. */
    head = 0
    /** Readable bytes. */
    count = 0

    constructor(capacity: number) {
        this.capacity = capacity
        this.buf = allocBytes(capacity)
    }

    /** Room left for enqueue(). */
    free(): number {
        return this.capacity - this.count
    }

    clear(): void {
        this.head = 0
        this.count = 0
    }

    /** Appends up to len bytes from src[off..]; returns how many fit. */
    enqueue(src: Buffer, off: number, len: number): number {
        const n = this.writeAt(this.count, src, off, len)
        this.count += n
        return n
    }

    /** Moves up to len bytes into dst[off..]; returns how many. */
    dequeue(dst: Buffer, off: number, len: number): number {
        const n = this.peek(dst, off, 0, len)
        this.discard(n)
        return n
    }

    /** Drops up to n bytes from the front; returns how many. */
    discard(n: number): number {
        if (n > this.count) n = this.count
        this.count -= n
        this.head += n
        if (this.head >= this.capacity) this.head -= this.capacity
        // The head stays where it is even when empty: bytes parked past the end with
        // writeAt() (out-of-order data) are addressed relative to it.
        return n
    }

    /**
     * Copies up to len readable bytes starting `offset` bytes after the front into
     * dst[dstOff..], without consuming them. Returns how many were copied.
     */
    peek(dst: Buffer, dstOff: number, offset: number, len: number): number {
        if (offset >= this.count) return 0
        if (len > this.count - offset) len = this.count - offset
        this.copyOut(dst, dstOff, offset, len)
        return len
    }

    /**
     * Writes up to len bytes from src[srcOff..] at `offset` bytes after the front,
     * clipped to the capacity; does not change count. Returns how many were written.
     */
    writeAt(offset: number, src: Buffer, srcOff: number, len: number): number {
        if (offset >= this.capacity || len <= 0) return 0
        if (len > this.capacity - offset) len = this.capacity - offset
        let pos = this.head + offset
        if (pos >= this.capacity) pos -= this.capacity
        const first = this.capacity - pos
        if (len <= first) {
            copyBytes(this.buf, pos, src, srcOff, len)
        } else {
            copyBytes(this.buf, pos, src, srcOff, first)
            copyBytes(this.buf, 0, src, srcOff + first, len - first)
        }
        return len
    }

    /** Makes n bytes already placed with writeAt() at the end readable. */
    commit(n: number): void {
        if (n > this.capacity - this.count) n = this.capacity - this.count
        this.count += n
    }

    private copyOut(dst: Buffer, dstOff: number, offset: number, len: number): void {
        let pos = this.head + offset
        if (pos >= this.capacity) pos -= this.capacity
        const first = this.capacity - pos
        if (len <= first) {
            copyBytes(dst, dstOff, this.buf, pos, len)
        } else {
            copyBytes(dst, dstOff, this.buf, pos, first)
            copyBytes(dst, dstOff + first, this.buf, 0, len - first)
        }
    }
}
