// SEGMENT ARRIVES for a connection that exists (RFC 9293 §3.10.7.3 SYN-SENT and
// §3.10.7.4 the other states), in the RFC's order: sequence acceptability, RST, SYN,
// ACK, URG (ignored), segment text, FIN — with RFC 5961's challenge ACKs for RSTs not
// exactly at RCV.NXT, SYNs in synchronized states, and ACKs outside
// [SND.UNA - MAX.SND.WND, SND.NXT]. LISTEN and "no connection" are the layer's.

import { TcpRepr, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../wire/tcp"
import { Connection, TIME_NEVER } from "./connection"
import { ccInit, ccOnDupAck, ccOnNewAck } from "./congestion"
import { ECONNREFUSED, ECONNRESET } from "./errors"
import { TCP_EV_READABLE, TCP_EV_WRITABLE } from "./events"
import { receiveSpace, retransmitFirst, sendAck, sendChallengeAck, tcpOutput } from "./tcp-output"
import { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqSub } from "./seq"
import { peerWsShift, TcpShared } from "./shared"
import { TcpState } from "./state"

/** Processes one parsed segment for connection c; payload bytes are in buf. */
export function tcpInput(sh: TcpShared, c: Connection, seg: TcpRepr, buf: Buffer, now: number): void {
    c.segsIn++
    // Anything from the peer shows it is alive (RFC 1122 §4.2.3.6).
    if (c.keepalive) {
        if (c.rtxAt === TIME_NEVER && c.persistAt === TIME_NEVER) c.retries = 0
        c.keepAt = now + c.keepIdleMs
    }
    if (c.state === TcpState.SynSent) synSentInput(sh, c, seg, buf, now)
    else if (c.state !== TcpState.Closed) synchronizedInput(sh, c, seg, buf, now)
    tcpOutput(sh, c, now)
}

// ------------------------------------------------------------------ SYN-SENT

function synSentInput(sh: TcpShared, c: Connection, seg: TcpRepr, buf: Buffer, now: number): void {
    const flags = seg.flags
    const hasAck = (flags & TCP_ACK) !== 0
    // First: the ACK must cover our SYN and nothing we did not send.
    if (hasAck && (seqLe(seg.ack, c.iss) || seqGt(seg.ack, c.sndMax))) {
        if (!(flags & TCP_RST)) sh.sendResetFor(seg, c.remoteIp, now)
        return
    }
    // Second: a RST counts only with an acceptable ACK (RFC 5961 §3.2 for SYN-SENT).
    if (flags & TCP_RST) {
        if (hasAck) {
            sh.counters.rstReceived++
            sh.counters.connectionsFailed++
            c.enterClosed(ECONNREFUSED)
        }
        return
    }
    // Fourth: SYN.
    if (!(flags & TCP_SYN)) return
    c.irs = seg.seq
    c.rcvNxt = seqAdd(seg.seq, 1)
    // The window our SYN offered now has a left edge.
    c.rcvAdvRight = seqAdd(c.rcvNxt, receiveSpace(c))
    c.sndMss = sh.sendMss(seg.mss)
    // We offered window scaling in our SYN; it is in use if the peer's SYN offers it too.
    c.wsOk = seg.windowScale >= 0
    c.sndWndShift = peerWsShift(seg.windowScale)
    setSendWindow(c, seg)
    if (hasAck) {
        c.sndUna = seg.ack
        if (seqLt(c.sndNxt, c.sndUna)) c.sndNxt = c.sndUna
        established(sh, c, now)
        c.ackNow = true
        // Data or FIN that came with the SYN-ACK is processed as in ESTABLISHED.
        if (seg.payloadLen > 0 || (flags & TCP_FIN)) {
            processText(sh, c, buf, seqAdd(seg.seq, 1), seg.payloadOff, seg.payloadLen, now)
            if (flags & TCP_FIN) processFin(sh, c, seqAdd(seg.seq, 1 + seg.payloadLen), now)
        }
        return
    }
    // Simultaneous open (RFC 9293 §3.5 figure 8): answer with SYN-ACK from SYN-RECEIVED.
    // Any text is left for the peer to retransmit once we are synchronized.
    c.state = TcpState.SynReceived
    c.sndNxt = c.iss // output() (re)sends our SYN, now with ACK
}

/** The window a segment offers, in bytes: scaled by the peer's shift except in a SYN (RFC 7323 §2.2). */
function segWindow(c: Connection, seg: TcpRepr): number {
    return seg.flags & TCP_SYN ? seg.window : seg.window << c.sndWndShift
}

function setSendWindow(c: Connection, seg: TcpRepr): void {
    const wnd = segWindow(c, seg)
    c.sndWnd = wnd
    c.sndWl1 = seg.seq
    c.sndWl2 = seg.ack
    if (wnd > c.maxSndWnd) c.maxSndWnd = wnd
    if (wnd > c.peerBufEst) c.peerBufEst = wnd
}

/** Our SYN was acknowledged: ESTABLISHED (or FIN-WAIT-1 when the user already closed). */
function established(sh: TcpShared, c: Connection, now: number): void {
    c.state = c.finQueued ? TcpState.FinWait1 : TcpState.Established
    if (c.rttTiming() && seqGe(c.sndUna, c.rttSeq)) c.rtt.sample(now - c.rttStart)
    c.stopRttTiming()
    if (c.retries > 0) c.rtt.afterSynRetransmit()
    c.retries = 0
    c.rtxAt = TIME_NEVER
    ccInit(c)
    c.pendingEvents |= TCP_EV_WRITABLE
    sh.counters.connectionsOpened++
}

// ------------------------------------------------------------------ other states

function synchronizedInput(sh: TcpShared, c: Connection, seg: TcpRepr, buf: Buffer, now: number): void {
    let flags = seg.flags
    let seq = seg.seq
    let payOff = seg.payloadOff
    let payLen = seg.payloadLen
    const segLen = seg.segLen()
    let wnd = seqSub(c.rcvAdvRight, c.rcvNxt)
    if (wnd < 0) wnd = 0

    // First: sequence number acceptability (RFC 9293 §3.10.7.4 table).
    let ok: boolean
    if (segLen === 0) ok = wnd === 0 ? seq === c.rcvNxt : seqInRange(seq, c.rcvNxt, seqAdd(c.rcvNxt, wnd))
    else if (wnd === 0) ok = false
    else ok = seqInRange(seq, c.rcvNxt, seqAdd(c.rcvNxt, wnd)) ||
        seqInRange(seqAdd(seq, segLen - 1), c.rcvNxt, seqAdd(c.rcvNxt, wnd))
    if (!ok) {
        sh.counters.rxOutOfWindow++
        if (flags & TCP_RST) return
        // A zero window still takes valid ACKs (RFC 9293 §3.10.7.4): keep only the ACK — and a
        // bare FIN at RCV.NXT, which needs no buffer space (as Linux takes it; a sender that
        // sends its FIN into our zero window is then not left retransmitting it).
        if (wnd === 0 && seq === c.rcvNxt && (flags & TCP_ACK) && !(flags & TCP_SYN)) {
            if (payLen > 0) flags &= ~TCP_FIN
            payLen = 0
            c.ackNow = true
        } else {
            // TIME-WAIT: a retransmitted FIN is acknowledged and restarts the 2 MSL wait.
            if (c.state === TcpState.TimeWait && (flags & TCP_FIN)) c.enterTimeWait(now, sh.timeWaitMs)
            sendAck(sh, c, now)
            return
        }
    }

    // Second: RST (RFC 5961 §3.2): only exactly at RCV.NXT; elsewhere in the window, challenge.
    // Checked on SEG.SEQ as it arrived, before trimming: a RST whose text overlaps RCV.NXT
    // would otherwise be trimmed to start there, and a blind attacker would get as many
    // good guesses as the segment carries bytes instead of one.
    if (flags & TCP_RST) {
        if (seq !== c.rcvNxt) {
            sendChallengeAck(sh, c, now)
            return
        }
        sh.counters.rstReceived++
        const st = c.state
        if (st === TcpState.SynReceived) {
            sh.counters.connectionsFailed++
            c.enterClosed(ECONNREFUSED) // came from an active open (passive ones are requests)
        } else if (st === TcpState.Established || st === TcpState.FinWait1 || st === TcpState.FinWait2 || st === TcpState.CloseWait) {
            c.enterClosed(ECONNRESET)
        } else {
            c.enterClosed(0) // CLOSING, LAST-ACK, TIME-WAIT: just delete the TCB
        }
        return
    }

    // Fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK, drop — whatever
    // its sequence number, so also before trimming (a SYN at RCV.NXT - 1 must not lose its
    // SYN bit there and have its text taken).
    if (flags & TCP_SYN) {
        sendChallengeAck(sh, c, now)
        return
    }

    // The rest of the first check: trim to the window, dropping what is before RCV.NXT and
    // what is beyond the right edge.
    if (seqLt(seq, c.rcvNxt)) {
        let d = seqSub(c.rcvNxt, seq)
        if (d > payLen) d = payLen
        payOff += d
        payLen -= d
        seq = seqAdd(seq, d)
    }
    const over = seqSub(seqAdd(seq, payLen), seqAdd(c.rcvNxt, wnd))
    if (over > 0) {
        payLen -= over
        flags &= ~TCP_FIN
    }

    // Fifth: ACK.
    if (!(flags & TCP_ACK)) return
    if (c.state === TcpState.SynReceived) {
        if (!(seqGt(seg.ack, c.sndUna) && seqLe(seg.ack, c.sndMax))) {
            sh.sendResetFor(seg, c.remoteIp, now)
            return
        }
        c.sndUna = seg.ack
        if (seqLt(c.sndNxt, c.sndUna)) c.sndNxt = c.sndUna
        setSendWindow(c, seg)
        established(sh, c, now)
    } else {
        // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT].
        if (seqLt(seg.ack, seqAdd(c.sndUna, -c.maxSndWnd)) || seqGt(seg.ack, c.sndMax)) {
            sendChallengeAck(sh, c, now)
            return
        }
        processAck(sh, c, seg, payLen, flags, now)
        if (c.state === TcpState.Closed) return
    }
    // Seventh: segment text (URG, sixth, is ignored: RFC 6093).
    if (payLen > 0) processText(sh, c, buf, seq, payOff, payLen, now)

    // Eighth: FIN.
    if (flags & TCP_FIN) processFin(sh, c, seqAdd(seq, payLen), now)
}

/** ACK processing for ESTABLISHED and later states (RFC 9293 §3.10.7.4 fifth). */
function processAck(sh: TcpShared, c: Connection, seg: TcpRepr, payLen: number, flags: number, now: number): void {
    const ack = seg.ack
    const wnd = segWindow(c, seg)
    // With nothing in flight, retries counts window or keepalive probes: any ACK answers them.
    if (c.rtxAt === TIME_NEVER) c.retries = 0
    if (seqGt(ack, c.sndUna)) {
        const acked = seqSub(ack, c.sndUna)
        const ringLen = c.sendRing.count
        const dataAcked = acked < ringLen ? acked : ringLen
        c.sendRing.discard(dataAcked)
        if (acked > dataAcked && c.finQueued) c.finAcked = true
        c.sndUna = ack
        if (seqLt(c.sndNxt, c.sndUna)) c.sndNxt = c.sndUna
        // RTT sample (Karn: timing stops whenever anything is retransmitted).
        if (c.rttTiming() && seqGe(ack, c.rttSeq)) {
            c.rtt.sample(now - c.rttStart)
            c.stopRttTiming()
        }
        c.retries = 0
        // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
        c.rtxAt = c.sndMax === c.sndUna ? TIME_NEVER : now + c.rtt.rto
        if (ccOnNewAck(c, acked, ack)) {
            c.fastRetransmits++
            sh.counters.fastRetransmits++
            retransmitFirst(sh, c, now)
        }
        if (dataAcked > 0) c.pendingEvents |= TCP_EV_WRITABLE
    } else if (ack === c.sndUna && payLen === 0 && !(flags & (TCP_SYN | TCP_FIN)) &&
        wnd === c.sndWnd && c.sndWnd !== 0 && seqGt(c.sndMax, c.sndUna) && c.rtxAt !== TIME_NEVER) {
        // A duplicate ACK (RFC 5681 §2): nothing new, same window, data outstanding.
        if (ccOnDupAck(c)) {
            c.fastRetransmits++
            sh.counters.fastRetransmits++
            retransmitFirst(sh, c, now)
        }
    }
    // Window update, unless the segment is older than the last one that set the window.
    if (seqGe(ack, c.sndUna) && (seqLt(c.sndWl1, seg.seq) || (c.sndWl1 === seg.seq && seqLe(c.sndWl2, ack)))) {
        const opened = c.sndWnd === 0 && wnd > 0
        setSendWindow(c, seg)
        if (opened || wnd >= c.sndMss) {
            c.persistAt = TIME_NEVER
            c.persistShift = 0
        }
    }
    // State-specific steps once our FIN is acknowledged.
    if (!c.finAcked) return
    const st = c.state
    if (st === TcpState.FinWait1) {
        c.state = TcpState.FinWait2
        c.rtxAt = TIME_NEVER
        // An orphan must not wait forever for the peer's FIN (Linux tcp_fin_timeout).
        if (!c.userHeld) c.closeAt = now + sh.finWait2Ms
    } else if (st === TcpState.Closing) {
        c.enterTimeWait(now, sh.timeWaitMs)
    } else if (st === TcpState.LastAck) {
        c.enterClosed(0)
    }
}

/** Stores in-window data (already trimmed) and advances RCV.NXT over what is contiguous. */
function processText(sh: TcpShared, c: Connection, buf: Buffer, seq: number, payOff: number, payLen: number, now: number): void {
    const st = c.state
    if (st !== TcpState.Established && st !== TcpState.FinWait1 && st !== TcpState.FinWait2) return
    if (payLen > c.rcvSegMax) c.rcvSegMax = payLen
    const off = seqSub(seq, c.rcvNxt)
    const ring = c.recvRing
    let n: number
    if (off === 0 && c.asm.isEmpty()) {
        n = ring.enqueue(buf, payOff, payLen)
    } else {
        // Out of order, or filling a hole: park it in the ring's free space (assembler.ts).
        if (!c.asm.add(off, payLen)) {
            c.oooDropped++
            sh.counters.rxOooDropped++
            c.ackNow = true
            return
        }
        ring.writeAt(ring.count + off, buf, payOff, payLen)
        n = c.asm.popFront()
        ring.commit(n)
        // RFC 5681 §4.2: ACK out-of-order segments and hole fills at once.
        c.ackNow = true
    }
    if (n > 0) {
        c.rcvNxt = seqAdd(c.rcvNxt, n)
        c.bytesIn += n
        c.unackedBytes += n
        c.pendingEvents |= TCP_EV_READABLE
        // RFC 1122 §4.2.3.2 / RFC 5681 §4.2: ACK at least every second full-sized segment,
        // otherwise within the delayed-ACK time.
        if (c.unackedBytes >= 2 * c.rcvSegMax) c.ackNow = true
        else if (c.ackAt === TIME_NEVER) c.ackAt = now + sh.delayedAckMs
        if (c.rcvNxt === c.oooFinSeq) {
            c.oooFinSeq = -1
            acceptFin(sh, c, now)
        }
    }
}

/** A FIN at sequence number finSeq: taken if everything before it has arrived. */
function processFin(sh: TcpShared, c: Connection, finSeq: number, now: number): void {
    if (c.rcvFin) {
        c.ackNow = true
        return
    }
    if (finSeq === c.rcvNxt) {
        acceptFin(sh, c, now)
    } else if (seqGt(finSeq, c.rcvNxt)) {
        c.oooFinSeq = finSeq
        c.ackNow = true
    }
}

function acceptFin(sh: TcpShared, c: Connection, now: number): void {
    c.rcvNxt = seqAdd(c.rcvNxt, 1)
    c.rcvFin = true
    c.ackNow = true
    c.pendingEvents |= TCP_EV_READABLE
    const st = c.state
    if (st === TcpState.SynReceived || st === TcpState.Established) {
        c.state = TcpState.CloseWait
    } else if (st === TcpState.FinWait1) {
        // Our FIN is not acknowledged yet (else we would be in FIN-WAIT-2): simultaneous close.
        c.state = TcpState.Closing
    } else if (st === TcpState.FinWait2) {
        c.enterTimeWait(now, sh.timeWaitMs)
    } else if (st === TcpState.TimeWait) {
        c.enterTimeWait(now, sh.timeWaitMs)
    }
}
