// poll()-style readiness: the bits (Linux values), and a fixed-capacity set of sockets
// and listeners that poll() fills in place, so a poll loop allocates nothing per call.

import { SocketError, EINVAL, ENOBUFS } from "../tcp/errors"
import { Waitable } from "./context"

/** Data, end-of-stream or an error can be read; on a listener: accept() will not block. */
export const POLLIN = 0x0001
/** write() will queue at least one byte (or report an error). */
export const POLLOUT = 0x0004
/** The connection failed (reset, refused, timed out): error() says why. Always reported. */
export const POLLERR = 0x0008
/** No more data can move either way (both FINs, or CLOSED). Always reported. */
export const POLLHUP = 0x0010
/** The object is not open (closed socket or listener). Always reported. */
export const POLLNVAL = 0x0020
/** The peer shut down its sending side (we got its FIN). */
export const POLLRDHUP = 0x2000

/** Bits reported whether asked for or not (POSIX poll). */
export const POLL_ALWAYS = POLLERR | POLLHUP | POLLNVAL

/** A socket or a listener. */
export interface PollTarget extends Waitable {
    /** The readiness bits that hold now. */
    pollEvents(): number
}

/** @devsWhenUsed */
export class PollSet {
    readonly capacity: number
    private targets: PollTarget[] = []
    private wanted: number[] = []
    private ready: number[] = []
    private count = 0

    constructor(capacity: number) {
        if (!(capacity >= 1)) throw new SocketError(EINVAL, "PollSet: capacity must be >= 1")
        this.capacity = capacity
        for (let i = 0; i < capacity; i++) {
            this.targets.push(null)
            this.wanted.push(0)
            this.ready.push(0)
        }
    }

    size(): number {
        return this.count
    }

    /** Adds a target (or changes its events if present); returns its index. Throws ENOBUFS when full. */
    add(target: PollTarget, events: number): number {
        const i = this.indexOf(target)
        if (i >= 0) {
            this.wanted[i] = events
            return i
        }
        if (this.count >= this.capacity) throw new SocketError(ENOBUFS, "ENOBUFS: PollSet is full")
        const j = this.count
        this.targets[j] = target
        this.wanted[j] = events
        this.ready[j] = 0
        this.count++
        return j
    }

    /** Removes a target (the last entry moves into its place). False if absent. */
    remove(target: PollTarget): boolean {
        const i = this.indexOf(target)
        if (i < 0) return false
        const last = this.count - 1
        this.targets[i] = this.targets[last]
        this.wanted[i] = this.wanted[last]
        this.ready[i] = this.ready[last]
        this.targets[last] = null
        this.wanted[last] = 0
        this.ready[last] = 0
        this.count--
        return true
    }

    clear(): void {
        for (let i = 0; i < this.count; i++) {
            this.targets[i] = null
            this.wanted[i] = 0
            this.ready[i] = 0
        }
        this.count = 0
    }

    indexOf(target: PollTarget): number {
        for (let i = 0; i < this.count; i++) if (this.targets[i] === target) return i
        return -1
    }

    target(i: number): PollTarget {
        return i >= 0 && i < this.count ? this.targets[i] : null
    }

    events(i: number): number {
        return i >= 0 && i < this.count ? this.wanted[i] : 0
    }

    /** What the last poll found for entry i (revents). */
    revents(i: number): number {
        return i >= 0 && i < this.count ? this.ready[i] : 0
    }

    /** revents of a target, 0 if absent. */
    reventsOf(target: PollTarget): number {
        const i = this.indexOf(target)
        return i >= 0 ? this.ready[i] : 0
    }

    /** Re-evaluates every entry; returns how many have a non-zero revents. */
    scan(): number {
        let n = 0
        for (let i = 0; i < this.count; i++) {
            const r = this.targets[i].pollEvents() & (this.wanted[i] | POLL_ALWAYS)
            this.ready[i] = r
            if (r !== 0) n++
        }
        return n
    }

    /** Sets (or clears) bit on the wait mask of every target. */
    markWaiter(bit: number, on: boolean): void {
        for (let i = 0; i < this.count; i++) {
            const t = this.targets[i]
            if (on) t.waitMask |= bit
            else t.waitMask &= ~bit
        }
    }
}
