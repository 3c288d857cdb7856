// The user calls of RFC 9293 §3.10 on one connection: OPEN (active and passive set-up),
// SEND, RECEIVE, CLOSE (here shutdown of the send side), ABORT, STATUS (readiness).
// The layer checks handles and owns slots; these functions work on a Connection.

import { Connection, TIME_NEVER } from "./connection"
import { ccInit } from "./congestion"
import { ENOTCONN, EPIPE, RECV_EOF } from "./errors"
import { TCP_EV_CLOSED } from "./events"
import { receiveSpace, sendReset, tcpOutput, windowUpdateDue } from "./tcp-output"
import { seqAdd } from "./seq"
import { peerWsShift, TcpShared } from "./shared"
import { TcpState } from "./state"

/** Common set-up of a slot that the layer filled with addresses and ports. */
function initCommon(sh: TcpShared, c: Connection, iss: number, now: number): void {
    c.iss = iss
    c.sndUna = iss
    c.sndNxt = iss
    c.sndMax = iss
    c.rcvMss = sh.ourMss
    c.sndMss = sh.sendMss(0)
    c.rtt.reset()
    ccInit(c)
    c.lastSendAt = now
    c.keepIdleMs = sh.keepIdleMs
    c.keepIntervalMs = sh.keepIntervalMs
    c.keepCount = sh.keepCount
}

/** Active OPEN: SYN-SENT; output() sends the SYN. */
export function openActive(sh: TcpShared, c: Connection, iss: number, now: number): void {
    initCommon(sh, c, iss, now)
    c.state = TcpState.SynSent
    tcpOutput(sh, c, now)
}

/**
 * Passive OPEN completed by the layer from a SYN-queue entry or a SYN cookie: the SYN
 * (irs, peer's MSS, peer's window-scale shift or -1) was received and our SYN-ACK (iss)
 * sent — with a window-scale option iff peerWs >= 0; SYN-RECEIVED, waiting for the ACK
 * that the caller passes to tcpInput() next.
 */
export function openPassive(sh: TcpShared, c: Connection, iss: number, irs: number, peerMss: number, peerWs: number, now: number): void {
    initCommon(sh, c, iss, now)
    c.state = TcpState.SynReceived
    c.sndNxt = seqAdd(iss, 1)
    c.sndMax = c.sndNxt
    c.irs = irs
    c.rcvNxt = seqAdd(irs, 1)
    c.rcvAdvRight = seqAdd(c.rcvNxt, receiveSpace(c))
    c.sndMss = sh.sendMss(peerMss)
    c.wsOk = peerWs >= 0
    c.sndWndShift = peerWsShift(peerWs)
}

/**
 * buf[off, off + len) lies inside buf. The rings trust their callers' lengths: a length
 * beyond the buffer would queue stale ring bytes (an earlier connection's data) on send,
 * and consume unread bytes without copying them on receive.
 */
export function inBounds(buf: Buffer, off: number, len: number): boolean {
    return off >= 0 && len >= 0 && off + len <= buf.length
}

/** SEND: queues up to len bytes; returns how many (0 = buffer full), or -error. */
export function userSend(sh: TcpShared, c: Connection, buf: Buffer, off: number, len: number, now: number): number {
    if (c.error !== 0) return -c.error
    if (c.finQueued) return -EPIPE
    const st = c.state
    if (st !== TcpState.SynSent && st !== TcpState.SynReceived && st !== TcpState.Established && st !== TcpState.CloseWait) {
        return -ENOTCONN
    }
    if (len <= 0) return 0
    const n = c.sendRing.enqueue(buf, off, len)
    if (n > 0) tcpOutput(sh, c, now)
    return n
}

/** RECEIVE: up to len bytes; 0 = nothing yet, RECV_EOF after the peer's FIN, or -error. */
export function userRecv(sh: TcpShared, c: Connection, buf: Buffer, off: number, len: number, now: number): number {
    if (len > 0 && c.recvRing.count > 0) {
        const n = c.recvRing.dequeue(buf, off, len)
        // Tell the peer when reading opened the window enough (RFC 1122 §4.2.3.3).
        if (isReceiving(c.state) && windowUpdateDue(c)) {
            c.ackNow = true
            tcpOutput(sh, c, now)
        }
        return n
    }
    if (c.recvRing.count > 0) return 0
    if (c.rcvFin) return RECV_EOF
    if (c.error !== 0) return -c.error
    if (c.state === TcpState.Closed) return -ENOTCONN
    return 0
}

/** States in which the peer may still send us data. */
function isReceiving(st: TcpState): boolean {
    return st === TcpState.Established || st === TcpState.FinWait1 || st === TcpState.FinWait2
}

/**
 * CLOSE of the send side (shutdown(SHUT_WR)): the FIN follows the queued data
 * (RFC 9293 §3.10.4). Returns 0 or -ENOTCONN.
 */
export function userShutdown(sh: TcpShared, c: Connection, now: number): number {
    if (c.finQueued) return 0
    const st = c.state
    if (st === TcpState.SynSent || st === TcpState.SynReceived) {
        c.finQueued = true // sent once established
    } else if (st === TcpState.Established) {
        c.finQueued = true
        c.state = TcpState.FinWait1
    } else if (st === TcpState.CloseWait) {
        c.finQueued = true
        c.state = TcpState.LastAck
    } else {
        return c.error !== 0 ? -c.error : -ENOTCONN
    }
    tcpOutput(sh, c, now)
    return 0
}

/**
 * The user lets go of the connection. Graceful unless unread data is waiting or
 * abort-on-close is set, which reset it (RFC 1122 §4.2.2.13 / RFC 2525 §2.17).
 * Afterwards the slot belongs to the layer until the connection reaches CLOSED.
 */
export function userClose(sh: TcpShared, c: Connection, now: number): void {
    c.userHeld = false
    const st = c.state
    if (st === TcpState.Closed) return
    if (st === TcpState.SynSent) {
        c.enterClosed(0)
        return
    }
    if (c.abortOnClose || c.recvRing.count > 0) {
        userAbort(sh, c, now)
        return
    }
    userShutdown(sh, c, now)
    // An orphan does not live for ever: FIN-WAIT-2 waits tcpFinWait2Ms for the peer's FIN,
    // the other states get tcpOrphanTimeoutMs in all (tcp-timers.ts resets it then).
    if (c.closeAt === TIME_NEVER) c.closeAt = now + (c.state === TcpState.FinWait2 ? sh.finWait2Ms : sh.orphanMs)
}

/** ABORT (RFC 9293 §3.10.5): reset the peer in synchronized states, then CLOSED. */
export function userAbort(sh: TcpShared, c: Connection, now: number): void {
    const st = c.state
    if (st === TcpState.SynReceived || st === TcpState.Established || st === TcpState.FinWait1 ||
        st === TcpState.FinWait2 || st === TcpState.CloseWait) {
        sendReset(sh, c, now)
    }
    c.enterClosed(0)
    c.sendRing.clear()
    c.recvRing.clear()
    c.asm.clear()
    c.pendingEvents |= TCP_EV_CLOSED
}

/** recv() would not return 0. */
export function isReadable(c: Connection): boolean {
    return c.recvRing.count > 0 || c.rcvFin || c.error !== 0 || c.state === TcpState.Closed
}

/** send() would not return 0 (it queues data, or reports an error). */
export function isWritable(c: Connection): boolean {
    if (c.error !== 0 || c.finQueued) return true
    const st = c.state
    if (st !== TcpState.Established && st !== TcpState.CloseWait) return st === TcpState.Closed
    return c.sendRing.free() > 0
}
