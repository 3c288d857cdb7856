// Everything a connection sends: SYN and SYN-ACK, data from the send ring (several
// segments in flight, limited by min(peer window, cwnd) — RFC 5681 §3), FIN, ACKs, window
// probes, resets. Nagle (RFC 896 / RFC 1122 §4.2.3.4) and sender-side SWS avoidance decide
// when a short segment may go; receiver-side SWS avoidance (RFC 1122 §4.2.3.3) decides
// the window we advertise. Segments are built straight in the interface's frame.

import { seqAdd, seqGt, seqLt, seqSub } from "./seq"
import { Connection, TIME_NEVER } from "./connection"
import { MAX_WINDOW, OUR_WS_SHIFT, TcpShared } from "./shared"
import { TcpState } from "./state"
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from "../wire/tcp"
import { ccAfterIdle } from "./congestion"

const SENT = 0
const NOTHING = 1
const NO_FRAME = 2

/** Most segments one output() call sends (the window bounds it long before this). */
const MAX_BURST = 64

/**
 * The window to advertise, with receiver-side SWS avoidance: the right edge only moves
 * when it can move by min(half the ring, our MSS), and never moves left.
 */
export function receiveWindow(c: Connection): number {
    const avail = receiveSpace(c)
    let cur = seqSub(c.rcvAdvRight, c.rcvNxt)
    if (cur < 0) cur = 0
    if (avail - cur >= swsThreshold(c)) return avail
    return cur
}

/** Room we may offer: the ring's free space, within the receive limit and a 16-bit window. */
export function receiveSpace(c: Connection): number {
    const ring = c.recvRing
    let avail = ring.free()
    if (c.recvLimit > 0) {
        const room = c.recvLimit - ring.count
        if (room < avail) avail = room < 0 ? 0 : room
    }
    return avail > MAX_WINDOW ? MAX_WINDOW : avail
}

function swsThreshold(c: Connection): number {
    const half = (c.recvLimit > 0 ? c.recvLimit : c.recvRing.capacity) >> 1
    return half < c.rcvMss ? half : c.rcvMss
}

/** True when reading has opened the window enough to tell the peer (a window update). */
export function windowUpdateDue(c: Connection): boolean {
    const avail = receiveSpace(c)
    let cur = seqSub(c.rcvAdvRight, c.rcvNxt)
    if (cur < 0) cur = 0
    return avail - cur >= swsThreshold(c)
}

/** Stamps ack and window on tx (for segments with ACK) and records what we advertised. */
function stampAck(sh: TcpShared, c: Connection): void {
    const w = receiveWindow(c)
    sh.tx.ack = c.rcvNxt
    sh.tx.window = w
    const right = seqAdd(c.rcvNxt, w)
    if (seqGt(right, c.rcvAdvRight)) c.rcvAdvRight = right
    c.ackNow = false
    c.ackAt = TIME_NEVER
    c.unackedBytes = 0
}

function sent(c: Connection, now: number): void {
    c.segsOut++
    c.lastSendAt = now
}

/** A segment without data: <SEQ=seq><ACK=RCV.NXT><CTL=flags|ACK>. False when no frame was free. */
export function sendAckAt(sh: TcpShared, c: Connection, seq: number, now: number): boolean {
    sh.prepare(c.localPort, c.remotePort, seq, 0, TCP_ACK, 0)
    stampAck(sh, c)
    if (!sh.transmit(c.remoteIp, null, 0, 0, now)) {
        c.ackNow = true
        return false
    }
    sent(c, now)
    return true
}

/**
 * A pure ACK. Its sequence number is SND.MAX, the highest sequence number sent (the RFC's
 * SND.NXT): sndNxt may have been rewound for a go-back-N retransmission, and an ACK
 * carrying a number the peer has already passed would be unacceptable to it (RFC 9293
 * §3.10.7.4), so neither side would process the other's ACKs.
 */
export function sendAck(sh: TcpShared, c: Connection, now: number): boolean {
    return sendAckAt(sh, c, c.sndMax, now)
}

/** RFC 5961 challenge ACK, within the shared rate limit. */
export function sendChallengeAck(sh: TcpShared, c: Connection, now: number): void {
    if (sh.challengeAllowed(now)) sendAck(sh, c, now)
}

/** <SEQ=SND.NXT><CTL=RST> (RFC 9293 §3.10.3 ABORT, §3.10.7.4 time-outs); SND.NXT is sndMax here. */
export function sendReset(sh: TcpShared, c: Connection, now: number): void {
    sh.prepare(c.localPort, c.remotePort, c.sndMax, 0, TCP_RST, 0)
    if (sh.transmit(c.remoteIp, null, 0, 0, now)) {
        sh.counters.rstSent++
        sent(c, now)
    }
}

/** SYN (active open) or SYN-ACK, with our MSS option. */
function sendSyn(sh: TcpShared, c: Connection, withAck: boolean, now: number): boolean {
    const win = receiveSpace(c)
    sh.prepare(c.localPort, c.remotePort, c.iss, withAck ? c.rcvNxt : 0, withAck ? TCP_SYN | TCP_ACK : TCP_SYN, win)
    sh.tx.mss = c.rcvMss
    // Window scale (RFC 7323 §2.2): always offered in a SYN; in a SYN-ACK only in answer to one.
    sh.tx.windowScale = !withAck || c.wsOk ? OUR_WS_SHIFT : -1
    if (withAck) {
        c.ackNow = false
        c.ackAt = TIME_NEVER
        const right = seqAdd(c.rcvNxt, win)
        if (seqGt(right, c.rcvAdvRight)) c.rcvAdvRight = right
    }
    if (!sh.transmit(c.remoteIp, null, 0, 0, now)) return false
    sent(c, now)
    c.sndNxt = seqAdd(c.iss, 1)
    if (seqGt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt
    if (c.rtxAt === TIME_NEVER) c.rtxAt = now + c.rtt.rto
    if (c.retries === 0 && !c.rttTiming()) c.startRttTiming(c.sndNxt, now)
    return true
}

/** Sends len bytes of the send ring starting at sequence number seq. */
function sendDataAt(sh: TcpShared, c: Connection, seq: number, len: number, flags: number, now: number): boolean {
    sh.prepare(c.localPort, c.remotePort, seq, 0, flags | TCP_ACK, 0)
    stampAck(sh, c)
    if (!sh.transmit(c.remoteIp, c.sendRing, seqSub(seq, c.sndUna), len, now)) {
        c.ackNow = true
        return false
    }
    sent(c, now)
    c.bytesOut += len
    return true
}

/** Records that [seq, newNxt) went out: SND.MAX, the retransmission timer, RTT timing. */
function afterSend(sh: TcpShared, c: Connection, seq: number, now: number): void {
    if (seqLt(seq, c.sndMax)) {
        c.retransmits++
        sh.counters.retransmits++
    } else if (!c.rttTiming()) {
        // Time this segment (RFC 6298 §3: one measurement at a time, never a retransmission).
        c.startRttTiming(c.sndNxt, now)
    }
    if (seqGt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt
    // RFC 6298 §5.1: start the timer if it is not running.
    if (c.rtxAt === TIME_NEVER) c.rtxAt = now + c.rtt.rto
    c.persistAt = TIME_NEVER
}

function persistInterval(sh: TcpShared, c: Connection): number {
    let t = c.rtt.rto
    for (let i = 0; i < c.persistShift && t < sh.rtoMax; i++) t *= 2
    return t < sh.rtoMax ? t : sh.rtoMax
}

/** With data waiting and nothing in flight to bring an ACK, the persist timer must run. */
function armPersist(sh: TcpShared, c: Connection, now: number): void {
    if (c.persistAt === TIME_NEVER && c.rtxAt === TIME_NEVER) c.persistAt = now + persistInterval(sh, c)
}

/** States whose send side may still carry data or a FIN. */
function canSendData(st: TcpState): boolean {
    return st === TcpState.Established || st === TcpState.CloseWait || st === TcpState.FinWait1 ||
        st === TcpState.LastAck || st === TcpState.Closing
}

function sendNextSegment(sh: TcpShared, c: Connection, now: number): number {
    if (c.finAcked) return NOTHING
    const inFlight = seqSub(c.sndNxt, c.sndUna)
    const ringLen = c.sendRing.count
    if (inFlight > ringLen) return NOTHING // FIN already out
    const unsent = ringLen - inFlight
    if (unsent === 0) {
        if (!c.finQueued) return NOTHING
        // The FIN takes a sequence number, so it waits for the window like data (as Linux):
        // a receiver drops it beyond a zero window (RFC 9293 §3.10.7.4), so the FIN would be
        // retransmitted into it until ETIMEDOUT although the peer answers. The persist timer
        // probes meanwhile (RFC 9293 §3.8.6.1: keep probing while the peer answers).
        if (c.sndWnd <= inFlight) {
            armPersist(sh, c, now)
            return NOTHING
        }
        const seq = c.sndNxt
        sh.prepare(c.localPort, c.remotePort, seq, 0, TCP_FIN | TCP_ACK, 0)
        stampAck(sh, c)
        if (!sh.transmit(c.remoteIp, null, 0, 0, now)) {
            c.ackNow = true
            return NO_FRAME
        }
        sent(c, now)
        c.sndNxt = seqAdd(seq, 1)
        afterSend(sh, c, seq, now)
        return SENT
    }
    const wnd = c.sndWnd < c.cwnd ? c.sndWnd : c.cwnd
    const usable = wnd - inFlight
    let len = unsent
    if (len > c.sndMss) len = c.sndMss
    if (len > usable) len = usable
    if (len <= 0) {
        armPersist(sh, c, now)
        return NOTHING
    }
    const all = len === unsent
    // Nagle: a short segment waits while data is unacknowledged, unless no-delay is set or
    // a FIN follows. Sender SWS avoidance: otherwise only full segments, or half the
    // largest window the peer offered (RFC 1122 §4.2.3.4).
    // Retransmissions (after a timeout SND.NXT < SND.MAX) are never held back.
    const idle = c.sndMax === c.sndUna
    const ok = len === c.sndMss || seqLt(c.sndNxt, c.sndMax) ||
        (all && (c.noDelay || idle || c.finQueued)) ||
        (c.peerBufEst > 0 && len >= (c.peerBufEst >> 1) && (c.noDelay || idle))
    if (!ok) {
        armPersist(sh, c, now)
        return NOTHING
    }
    let flags = 0
    if (all) flags |= TCP_PSH
    const fin = all && c.finQueued
    if (fin) flags |= TCP_FIN
    const seq = c.sndNxt
    if (!sendDataAt(sh, c, seq, len, flags, now)) return NO_FRAME
    c.sndNxt = seqAdd(seq, fin ? len + 1 : len)
    afterSend(sh, c, seq, now)
    return SENT
}

/**
 * Sends whatever the connection may send now: handshake segments, data and FIN within
 * the windows, or a pending ACK. Called after every event that can change that.
 */
export function tcpOutput(sh: TcpShared, c: Connection, now: number): void {
    const st = c.state
    if (st === TcpState.Closed || st === TcpState.Listen) return
    if (st === TcpState.SynSent) {
        if (c.sndNxt === c.iss) sendSyn(sh, c, false, now)
        return
    }
    if (st === TcpState.SynReceived) {
        if (c.sndNxt === c.iss) sendSyn(sh, c, true, now)
        else if (c.ackNow) sendAck(sh, c, now)
        return
    }
    let sentAny = false
    if (canSendData(st) && (c.sendRing.count > 0 || c.finQueued)) {
        if (c.sndMax === c.sndUna) ccAfterIdle(c, now)
        for (let i = 0; i < MAX_BURST; i++) {
            const r = sendNextSegment(sh, c, now)
            if (r === NO_FRAME) return
            if (r !== SENT) break
            sentAny = true
        }
    }
    if (!sentAny && c.ackNow) sendAck(sh, c, now)
}

/** Fast retransmit / NewReno partial ACK: resend one segment at SND.UNA (RFC 5681 §3.2). */
export function retransmitFirst(sh: TcpShared, c: Connection, now: number): void {
    const ringLen = c.sendRing.count
    let len = ringLen < c.sndMss ? ringLen : c.sndMss
    let flags = 0
    if (len === ringLen && c.finQueued && c.finSent()) flags |= TCP_FIN
    if (len === 0 && flags === 0) return
    if (!sendDataAt(sh, c, c.sndUna, len, flags, now)) return
    c.retransmits++
    sh.counters.retransmits++
    c.stopRttTiming() // Karn
    c.rtxAt = now + c.rtt.rto
}

/**
 * The persist timer fired: probe a zero window, or force out what a small window allows.
 * The probe is a segment with SEQ = SND.UNA - 1 and no data (as Linux sends): an old
 * sequence number that any receiver answers with an ACK carrying its current window.
 * A probe carrying a new byte (RFC 9293 §3.8.6.1's other choice) would put data beyond
 * the window, which a receiver may or may not keep, and the two ends could then disagree
 * on where our sequence space stands.
 */
export function persistProbe(sh: TcpShared, c: Connection, now: number): void {
    c.persistAt = TIME_NEVER
    if (!canSendData(c.state) || c.rtxAt !== TIME_NEVER) return
    const unsent = c.unsentBytes()
    // A FIN waiting for the window is probed for like data.
    if (unsent === 0 && (!c.finQueued || c.finSent())) return
    const inFlight = seqSub(c.sndNxt, c.sndUna)
    const usable = c.sndWnd - inFlight
    if (usable <= 0) {
        // Only unanswered zero-window probes back off and count towards giving up.
        c.persistShift++
        c.retries++
        sendAckAt(sh, c, seqAdd(c.sndUna, -1), now)
        c.persistAt = now + persistInterval(sh, c)
        return
    }
    // The SWS override timeout (RFC 9293 §3.8.6.2.1): the window is open but below the
    // SWS threshold, so the peer's buffer is smaller than Max(SND.WND) suggested (it may
    // shrink its buffer, or scale its windows without having negotiated it — passt does).
    // Re-estimate it from the window it offers now, or every later segment would wait
    // for this timeout again; the data sent is covered by the retransmission timer.
    c.peerBufEst = c.sndWnd
    let len = unsent
    if (len > c.sndMss) len = c.sndMss
    if (len > usable) len = usable
    const seq = c.sndNxt
    if (!sendDataAt(sh, c, seq, len, len === unsent ? TCP_PSH : 0, now)) return
    c.sndNxt = seqAdd(seq, len)
    afterSend(sh, c, seq, now)
}
