// What every socket and listener object shares: the TCP layer, the scheduler, the ring
// sizes, and the pool of Waiters that blocked callers sleep on.
//
// Waking without busy polling: each socket and listener carries `waitMask`, one bit per
// pool waiter currently blocked on it (a poll() sets its bit on every object of its set).
// TcpLayer.onEvent (sockets.ts) wakes exactly the waiters whose bits are set; they
// re-check their condition. The pool is created at start-up (at most 32 waiters: one
// 32-bit mask), so the number of calls blocked at once is bounded and known.

import { SocketError, ENOBUFS } from "../tcp/errors"
import { TcpSocketInfo } from "../tcp/info"
import { TcpLayer } from "../tcp/tcp-layer"
import { Scheduler, Waiter } from "./scheduler"

/** Largest waiter pool: one bit each in a 32-bit mask. */
export const MAX_WAITERS = 32
/**
 * A blocked call without a deadline still wakes this often and re-checks: a guard against
 * a state change the TCP layer does not report as an event (it costs one check a minute).
 */
export const WAIT_SLICE_MS = 60000

/** Anything a caller can block on. */
export interface Waitable {
    /** Bits of the pool waiters blocked on this object. */
    waitMask: number
}

/** Told when a socket call may have queued a frame or moved a timer (the stack's pump). */
export interface Kicker {
    kick(): void
}

/** @devsWhenUsed */
export class SocketContext {
    readonly tcp: TcpLayer
    readonly sched: Scheduler
    /** Ring sizes of every connection (config.tcpSendBuffer / tcpRecvBuffer). */
    readonly sendRingSize: number
    readonly recvRingSize: number
    /** Rows of the TCP table that are connections (the first rows of socketTableRow). */
    readonly connSlots: number
    kicker: Kicker = null
    /** Blocking calls refused because every waiter was in use. */
    waiterShortages = 0

    /** The pool: acquire() an index, sleep on waiters[i].wait(ms), release(i). */
    readonly waiters: Waiter[] = []
    private freeMask = 0
    private scratchRow: TcpSocketInfo = null

    constructor(tcp: TcpLayer, sched: Scheduler, sendRingSize: number, recvRingSize: number, waiters: number) {
        this.tcp = tcp
        this.sched = sched
        this.sendRingSize = sendRingSize
        this.recvRingSize = recvRingSize
        this.connSlots = tcp.conns.length
        if (!(waiters >= 1)) waiters = 1
        if (waiters > MAX_WAITERS) waiters = MAX_WAITERS
        for (let i = 0; i < waiters; i++) {
            this.waiters.push(sched.createWaiter())
            this.freeMask |= 1 << i
        }
    }

    /**
     * Scratch record for TcpLayer.socketTableRow(), shared by every object. Made on first
     * use: only listings (netstat, queue lengths) need it.
     */
    tableRow(): TcpSocketInfo {
        if (this.scratchRow === null) this.scratchRow = new TcpSocketInfo()
        return this.scratchRow
    }

    now(): number {
        return this.sched.nowMs()
    }

    /** Waiters in the pool, and how many are free now. */
    waiterCount(): number {
        return this.waiters.length
    }

    freeWaiters(): number {
        let n = 0
        for (let i = 0; i < this.waiters.length; i++) if (this.freeMask & (1 << i)) n++
        return n
    }

    /** Takes a pool waiter: its index; throws ENOBUFS when all are blocked already. */
    acquire(): number {
        for (let i = 0; i < this.waiters.length; i++) {
            const bit = 1 << i
            if (this.freeMask & bit) {
                this.freeMask &= ~bit
                return i
            }
        }
        this.waiterShortages++
        throw new SocketError(ENOBUFS, "ENOBUFS: every waiter is blocked (raise NetStackOptions.waiters)")
    }

    release(i: number): void {
        this.freeMask |= 1 << i
    }

    /** Wakes every waiter named in mask. */
    wakeMask(mask: number): void {
        if (mask === 0) return
        for (let i = 0; i < this.waiters.length; i++) if (mask & (1 << i)) this.waiters[i].wake()
    }

    /** Blocks on one object until an event on it or timeoutMs (< 0: WAIT_SLICE_MS). */
    async block(target: Waitable, timeoutMs: number): Promise<boolean> {
        const i = this.acquire()
        const bit = 1 << i
        target.waitMask |= bit
        let woken = false
        try {
            woken = await this.waiters[i].wait(timeoutMs < 0 ? WAIT_SLICE_MS : timeoutMs)
        } finally {
            target.waitMask &= ~bit
            this.release(i)
        }
        return woken
    }

    /** Tells the pump that a call may have queued output or set a timer. */
    kick(): void {
        if (this.kicker !== null) this.kicker.kick()
    }
}

/**
 * Milliseconds left until a deadline for a blocking call: -1 = no deadline (wait a slice),
 * 0 = expired. deadline < 0 means none.
 */
export function remainingMs(ctx: SocketContext, deadline: number): number {
    if (deadline < 0) return -1
    const left = deadline - ctx.now()
    return left > 0 ? left : 0
}
