// Connection timers, run from TcpLayer.poll(now): retransmission (RFC 6298 §5, with
// go-back-N and the RFC 5681 loss window), persist (RFC 9293 §3.8.6.1), delayed ACK,
// keepalive (RFC 1122 §4.2.3.6), TIME-WAIT and the limits on orphans.

import { Connection, TIME_NEVER } from "./connection"
import { ccOnTimeout } from "./congestion"
import { ETIMEDOUT } from "./errors"
import { persistProbe, sendAckAt, sendReset, tcpOutput } from "./tcp-output"
import { seqAdd } from "./seq"
import { TcpShared } from "./shared"
import { TcpState } from "./state"

/** Runs every timer of c that is due at `now`, then lets it send. */
export function tcpTimers(sh: TcpShared, c: Connection, now: number): void {
    if (c.closeAt <= now) {
        c.closeAt = TIME_NEVER
        if (c.state === TcpState.TimeWait || c.state === TcpState.FinWait2) {
            c.enterClosed(0)
            return
        }
        // An orphan's time is up (only orphans have closeAt in other states): a peer that
        // answers every probe, so that no retry limit is ever reached, must not hold the
        // slot for ever (like Linux's tcp_orphan_retries). Abort: RST (RFC 9293 §3.10.5).
        sh.counters.orphansAborted++
        fail(sh, c, now)
        return
    }
    if (c.rtxAt <= now) {
        retransmitTimeout(sh, c)
        if (c.state === TcpState.Closed) return
    }
    if (c.persistAt <= now) {
        if (c.retries >= sh.maxRetries) {
            // The peer answered none of our probes: give up like a retransmission timeout.
            fail(sh, c, now)
            return
        }
        persistProbe(sh, c, now)
    }
    if (c.ackAt <= now) {
        c.ackAt = TIME_NEVER
        c.ackNow = true
    }
    if (c.keepAt <= now) {
        keepaliveTimer(sh, c, now)
        if (c.state === TcpState.Closed) return
    }
    tcpOutput(sh, c, now)
}

function fail(sh: TcpShared, c: Connection, now: number): void {
    sendReset(sh, c, now)
    sh.counters.timeouts++
    c.enterClosed(ETIMEDOUT)
}

function retransmitTimeout(sh: TcpShared, c: Connection): void {
    c.rtxAt = TIME_NEVER
    const st = c.state
    const syn = st === TcpState.SynSent || st === TcpState.SynReceived
    if (!syn && c.sndMax === c.sndUna) return
    c.retries++
    c.timeouts++
    sh.counters.timeouts++
    if (c.retries > (syn ? sh.synRetries : sh.maxRetries)) {
        // RFC 9293 §3.8.3 R2 / §3.10.8: give up, report ETIMEDOUT.
        if (syn) sh.counters.connectionsFailed++
        c.enterClosed(ETIMEDOUT)
        return
    }
    c.rtt.backoff()
    c.stopRttTiming() // Karn: nothing retransmitted is timed
    if (syn) {
        c.sndNxt = c.iss // output() sends the SYN (or SYN-ACK) again
        return
    }
    ccOnTimeout(c)
    c.sndNxt = c.sndUna // go back N: resend from the oldest unacknowledged byte
}

function keepaliveTimer(sh: TcpShared, c: Connection, now: number): void {
    c.keepAt = TIME_NEVER
    if (!c.keepalive) return
    const st = c.state
    const idleState = st === TcpState.Established || st === TcpState.CloseWait || st === TcpState.FinWait2
    if (!idleState || c.sndMax !== c.sndUna || c.unsentBytes() > 0) {
        // Data in flight is watched by the retransmission timer; check again later.
        c.keepAt = now + c.keepIdleMs
        return
    }
    if (c.retries >= c.keepCount) {
        fail(sh, c, now)
        return
    }
    // RFC 1122 §4.2.3.6: SEG.SEQ = SND.NXT-1, no data; the peer answers with an ACK.
    sendAckAt(sh, c, seqAdd(c.sndMax, -1), now)
    c.retries++
    c.keepAt = now + c.keepIntervalMs
}
