// Congestion control per RFC 5681 (slow start, congestion avoidance, fast retransmit and
// fast recovery) with NewReno's partial-ACK handling (RFC 6582) and byte counting in
// congestion avoidance (RFC 3465). These functions only change the window numbers; the
// caller sends the retransmission when they return true.

import { Connection } from "./connection"
import { seqAdd, seqGe, seqGt, seqSub } from "./seq"

/** Upper bound on cwnd: the peer's window (16 bits without scaling) limits us anyway. */
const CWND_MAX = 4 * 65535

/** RFC 5681 §3.1 initial window (RFC 3390): 2, 3 or 4 segments depending on the MSS. */
export function initialWindow(mss: number): number {
    if (mss > 2190) return 2 * mss
    if (mss > 1095) return 3 * mss
    return 4 * mss
}

export function ccInit(c: Connection): void {
    c.cwnd = initialWindow(c.sndMss)
    c.ssthresh = 65535
    c.dupAcks = 0
    c.inRecovery = false
    c.recover = c.iss
    c.bytesAckedCa = 0
}

/** FlightSize: data sent and not yet acknowledged. */
function flightSize(c: Connection): number {
    return seqSub(c.sndMax, c.sndUna)
}

/** RFC 5681 eq. (4): half the flight, at least two segments. */
function reducedSsthresh(c: Connection): number {
    const half = flightSize(c) >> 1
    const floor = 2 * c.sndMss
    return half > floor ? half : floor
}

/**
 * An ACK acknowledged `acked` new bytes, up to `ack`. Returns true when a NewReno
 * partial ACK asks for the next hole to be retransmitted.
 */
export function ccOnNewAck(c: Connection, acked: number, ack: number): boolean {
    const mss = c.sndMss
    if (c.inRecovery) {
        if (seqGe(ack, c.recover)) {
            // Full ACK (RFC 6582 §3.2 step 3): deflate to ssthresh, bounded by what is in flight.
            const f = flightSize(c)
            const w = (f > mss ? f : mss) + mss
            c.cwnd = w < c.ssthresh ? w : c.ssthresh
            c.inRecovery = false
            c.dupAcks = 0
            return false
        }
        // Partial ACK (step 4): retransmit the next hole, deflate by what was acked.
        c.cwnd -= acked
        if (acked >= mss) c.cwnd += mss
        if (c.cwnd < mss) c.cwnd = mss
        return true
    }
    c.dupAcks = 0
    // `recover` only matters until SND.UNA passes it (RFC 6582 §3.2 step 2). Once passed it
    // trails SND.UNA: left at the ISS it would fall 2^31 behind after 2 GB without a loss,
    // the modular comparison would flip, and the next loss would wait for an RTO. (After a
    // timeout it stays ahead, as §4 wants, until the ACKs pass it.)
    if (seqGt(ack, c.recover)) c.recover = seqAdd(ack, -1)
    if (c.cwnd < c.ssthresh) {
        // Slow start (RFC 5681 eq. 2): at most one SMSS per ACK.
        c.cwnd += acked < mss ? acked : mss
    } else {
        // Congestion avoidance: one SMSS per cwnd of data acknowledged (RFC 3465).
        c.bytesAckedCa += acked
        if (c.bytesAckedCa >= c.cwnd) {
            c.bytesAckedCa -= c.cwnd
            c.cwnd += mss
        }
    }
    if (c.cwnd > CWND_MAX) c.cwnd = CWND_MAX
    return false
}

/** A duplicate ACK (RFC 5681 §2). Returns true on the third: fast retransmit now. */
export function ccOnDupAck(c: Connection): boolean {
    c.dupAcks++
    if (c.inRecovery) {
        // RFC 5681 §3.2 step 4: each further dup ACK means a segment left the network.
        c.cwnd += c.sndMss
        if (c.cwnd > CWND_MAX) c.cwnd = CWND_MAX
        return false
    }
    if (c.dupAcks !== 3) return false
    // RFC 6582 §3.2 step 2: only when the ACK covers more than the last recovery point
    // (`recover` here is one past the RFC's "highest sequence number transmitted").
    if (!seqGt(c.sndUna, c.recover)) return false
    c.ssthresh = reducedSsthresh(c)
    c.cwnd = c.ssthresh + 3 * c.sndMss
    c.recover = c.sndMax
    c.inRecovery = true
    return true
}

/** The retransmission timer expired (RFC 5681 §3.1 eq. 4 and the loss window). */
export function ccOnTimeout(c: Connection): void {
    c.ssthresh = reducedSsthresh(c)
    c.cwnd = c.sndMss
    c.inRecovery = false
    c.dupAcks = 0
    c.recover = c.sndMax
    c.bytesAckedCa = 0
}

/** RFC 5681 §4.1: after an idle period longer than the RTO, restart from the initial window. */
export function ccAfterIdle(c: Connection, now: number): void {
    if (now - c.lastSendAt > c.rtt.rto) {
        const iw = initialWindow(c.sndMss)
        if (c.cwnd > iw) c.cwnd = iw
    }
}
