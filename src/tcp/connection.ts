// The transmission control block (RFC 9293 §3.3.1) of one connection slot.
//
// Slots are allocated once by the layer, each with its own send and receive ring, and
// reused forever: reset() returns a slot to "free", `generation` makes stale handles
// detectable. This file holds state only; the state machine lives in tcp-input.ts,
// tcp-output.ts, tcp-timers.ts and tcp-user.ts, which all operate on this class.
//
// Sequence bookkeeping, in synchronized states:
//   sendRing[0] is the byte at SND.UNA; sendRing holds unacknowledged and unsent data.
//   sndNxt - sndUna bytes are in flight (plus one for a FIN once sent).
//   sndMax is the highest sequence number sent, the RFC's SND.NXT; sndNxt is where the
//   next data segment starts, and a timeout rewinds it to SND.UNA (go-back-N). ACKs up to
//   sndMax stay acceptable, and segments without data carry sndMax as their number.
//   recvRing holds in-order data not yet read; out-of-order data sits in its free space
//   (see storage/assembler.ts); RCV.NXT is the sequence number of recvRing's end.

import { RingBuffer } from "../storage/ring-buffer"
import { Assembler } from "../storage/assembler"
import { zeroFields } from "../util/zero-fields"
import { RttEstimator } from "./rtt"
import { TcpState } from "./state"
import { TCP_EV_CLOSED, TCP_EV_ERROR, TCP_EV_READABLE, TCP_EV_WRITABLE } from "./events"

/** "No deadline" for a timer field. */
export const TIME_NEVER = 1e15

/** @devsWhenUsed */
export class Connection {
    // Every field below is set by reset(), which the constructor calls: one list of
    // initial values instead of two (field initialisers would repeat reset() in the
    // constructor's code, about 550 bytes of DeviceScript's 64 KB function-code limit).
    readonly index: number
    generation: number
    /** The slot holds a connection (any state, CLOSED included while the user still has it). */
    inUse: boolean
    /** The user holds a handle (after connect() or accept(), until close()/abort()). */
    userHeld: boolean
    /** Index of the listener whose accept queue holds this connection, or -1. */
    listenerIndex: number
    state: TcpState
    /** Pending error (ECONNRESET, ...); 0 = none. */
    error: number

    localIp: number
    localPort: number
    remoteIp: number
    remotePort: number

    // Send sequence space (RFC 9293 §3.3.1)
    iss: number
    sndUna: number
    sndNxt: number
    sndMax: number
    sndWnd: number
    sndWl1: number
    sndWl2: number
    /** Largest window the peer ever offered (MAX.SND.WND, RFC 5961 §5). */
    maxSndWnd: number
    /**
     * Sender SWS avoidance's estimate of the peer's receive buffer, Max(SND.WND) of RFC 9293
     * §3.8.6.2.1. Unlike maxSndWnd it comes down when the override timeout had to fire: the
     * peer's buffer is evidently smaller than the largest window it once offered.
     */
    peerBufEst: number
    /** Effective send MSS (RFC 9293 §3.7.1). */
    sndMss: number
    /**
     * Window scaling (RFC 7323 §2): wsOk when both SYNs carried the option. We always use
     * shift 0 (our windows never exceed 65535); sndWndShift is the peer's shift, applied to
     * the window of every segment from it but a SYN.
     */
    wsOk: boolean
    sndWndShift: number
    /** The user closed the send side: a FIN follows the queued data. */
    finQueued: boolean
    /** Our FIN has been acknowledged. */
    finAcked: boolean

    // Receive sequence space
    irs: number
    rcvNxt: number
    /** Right edge of the window we last advertised (never moved left: RFC 9293 §3.8.6.2.2). */
    rcvAdvRight: number
    /** MSS we announced. */
    rcvMss: number
    /** The peer's FIN was received: after the ring drains, recv() reports end-of-stream. */
    rcvFin: boolean
    /** Sequence number of a FIN seen beyond a hole (taken when RCV.NXT gets there); -1 = none. */
    oooFinSeq: number
    /** Largest payload received: what counts as a full-sized segment for delayed ACKs. */
    rcvSegMax: number
    /** Bytes received since we last sent an ACK. */
    unackedBytes: number
    /** An ACK must go out at the next output. */
    ackNow: boolean

    readonly sendRing: RingBuffer
    readonly recvRing: RingBuffer
    readonly asm: Assembler

    // Timers: absolute deadlines in ms, TIME_NEVER when off.
    rtxAt: number
    ackAt: number
    persistAt: number
    keepAt: number
    /** TIME-WAIT end, or when an orphaned connection is given up (FIN-WAIT-2: closed; else reset). */
    closeAt: number
    /**
     * Unanswered tries: retransmissions of the oldest segment (or the SYN) while data is in
     * flight; otherwise window probes or keepalive probes since the peer last answered.
     */
    retries: number
    /** Persist back-off exponent. */
    persistShift: number
    lastSendAt: number

    // RTT measurement of one segment at a time (RFC 6298 §3, Karn's algorithm): the
    // segment ending at rttSeq was sent at rttStart; rttStart < 0 = nothing timed.
    readonly rtt: RttEstimator
    rttSeq: number
    rttStart: number

    // Congestion control (RFC 5681, NewReno recovery RFC 6582)
    cwnd: number
    ssthresh: number
    dupAcks: number
    inRecovery: boolean
    recover: number
    /** Bytes acknowledged in congestion avoidance (RFC 3465 byte counting). */
    bytesAckedCa: number

    // Options
    noDelay: boolean
    abortOnClose: boolean
    /** SO_RCVBUF within the ring: most bytes we let the peer have in flight to us (0 = the ring). */
    recvLimit: number
    keepalive: boolean
    keepIdleMs: number
    keepIntervalMs: number
    keepCount: number

    /** TCP_EV_* bits waiting to be reported. */
    pendingEvents: number

    // Statistics
    segsIn: number
    segsOut: number
    bytesIn: number
    bytesOut: number
    retransmits: number
    fastRetransmits: number
    timeouts: number
    oooDropped: number

    constructor(index: number, sendSize: number, recvSize: number, asmRanges: number, rtt: RttEstimator) {
        this.index = index
        this.sendRing = new RingBuffer(sendSize)
        this.recvRing = new RingBuffer(recvSize)
        this.asm = new Assembler(asmRanges)
        this.rtt = rtt
        this.generation = -1 // reset() moves it on to 0
        this.reset()
    }

    /** Data queued but not yet sent (SND.NXT onward). */
    unsentBytes(): number {
        const inFlight = ((this.sndNxt - this.sndUna) | 0)
        const n = this.sendRing.count - inFlight
        return n > 0 ? n : 0
    }

    /** True once our FIN has been sent (it sits just after the queued data). */
    finSent(): boolean {
        return this.finQueued && ((this.sndNxt - this.sndUna) | 0) > this.sendRing.count
    }

    /** Back to a free slot. The generation moves on so old handles stop matching. */
    reset(): void {
        this.generation = (this.generation + 1) & 0x3fffff
        this.inUse = false
        this.userHeld = false
        this.listenerIndex = -1
        this.state = TcpState.Closed
        // The number fields that start at 0, by name: a key passed to zeroFields costs about
        // half the code of a `this.x = 0` store (~130 B in all). Runs once per connection, not
        // per segment (each call makes a small garbage array of its keys).
        zeroFields<Connection>(this, "error", "localIp", "localPort", "remoteIp", "remotePort", "iss", "sndUna")
        zeroFields<Connection>(this, "sndNxt", "sndMax", "sndWnd", "sndWl1", "sndWl2", "maxSndWnd", "peerBufEst")
        zeroFields<Connection>(this, "sndWndShift", "irs", "rcvNxt", "rcvAdvRight", "rcvSegMax", "unackedBytes", "retries")
        zeroFields<Connection>(this, "persistShift", "lastSendAt", "rttSeq", "cwnd", "dupAcks", "recover", "bytesAckedCa")
        zeroFields<Connection>(this, "recvLimit", "keepIdleMs", "keepIntervalMs", "keepCount", "pendingEvents", "segsIn", "segsOut")
        zeroFields<Connection>(this, "bytesIn", "bytesOut", "retransmits", "fastRetransmits", "timeouts", "oooDropped")
        this.sndMss = 536
        this.wsOk = false
        this.finQueued = false
        this.finAcked = false
        this.rcvMss = 536
        this.rcvFin = false
        this.oooFinSeq = -1
        this.ackNow = false
        this.sendRing.clear()
        this.recvRing.clear()
        this.asm.clear()
        this.stopTimers()
        this.rtt.reset()
        this.rttStart = -1
        this.ssthresh = 65535
        this.inRecovery = false
        this.noDelay = false
        this.abortOnClose = false
        this.keepalive = false
    }

    /**
     * Enters CLOSED. With an error (reset, refused, timeout) the queues are flushed
     * (RFC 9293 §3.10.7.4) and the user is told; without one, unread data stays readable.
     */
    enterClosed(err: number): void {
        this.state = TcpState.Closed
        this.stopTimers()
        if (err !== 0) {
            this.error = err
            this.sendRing.clear()
            this.recvRing.clear()
            this.asm.clear()
            this.pendingEvents |= TCP_EV_ERROR | TCP_EV_READABLE | TCP_EV_WRITABLE
        }
        this.pendingEvents |= TCP_EV_CLOSED
    }

    /** Enters TIME-WAIT for `duration` ms (2*MSL, RFC 9293 §3.10.7.4). */
    enterTimeWait(now: number, duration: number): void {
        this.state = TcpState.TimeWait
        this.stopTimers()
        this.closeAt = now + duration
    }

    /** An RTT measurement is running. */
    rttTiming(): boolean {
        return this.rttStart >= 0
    }

    /** Times the segment ending at seq, sent at now. */
    startRttTiming(seq: number, now: number): void {
        this.rttSeq = seq
        this.rttStart = now
    }

    /** Karn's algorithm: a retransmission cancels the measurement. */
    stopRttTiming(): void {
        this.rttStart = -1
    }

    stopTimers(): void {
        this.rtxAt = TIME_NEVER
        this.ackAt = TIME_NEVER
        this.persistAt = TIME_NEVER
        this.keepAt = TIME_NEVER
        this.closeAt = TIME_NEVER
    }

    /** The earliest timer deadline. */
    nextDeadline(): number {
        let t = this.rtxAt
        if (this.ackAt < t) t = this.ackAt
        if (this.persistAt < t) t = this.persistAt
        if (this.keepAt < t) t = this.keepAt
        if (this.closeAt < t) t = this.closeAt
        return t
    }
}
