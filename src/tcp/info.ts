// Records the layer fills for netstat-style listings and per-connection statistics.
// The caller allocates them once and passes them in: listing allocates nothing.

import { Connection } from "./connection"
import { Listener } from "./listener"
import { TcpState } from "./state"
import { SynRequest } from "./syn-queue"
import { receiveWindow } from "./tcp-output"

/** What a row of the socket table describes. */
export const TCP_ROW_FREE = 0
export const TCP_ROW_CONNECTION = 1
export const TCP_ROW_LISTENER = 2
/** A half-open passive connection in a SYN queue (SYN-RECEIVED). */
export const TCP_ROW_REQUEST = 3

/** @devsWhenUsed */
export class TcpSocketInfo {
    kind = TCP_ROW_FREE
    /** Connection or listener handle the user holds, or -1 (orphaned, queued, request). */
    handle = -1
    /** TcpState. */
    state = 0
    localIp = 0
    localPort = 0
    remoteIp = 0
    remotePort = 0
    /** Bytes in the send ring (unacknowledged + unsent) and in the receive ring (unread). */
    sendQueued = 0
    recvQueued = 0
    /** Listeners: SYN-queue and accept-queue lengths and the backlog bounding each. */
    synQueue = 0
    acceptQueue = 0
    backlog = 0
    /** Pending error code, 0 = none. */
    error = 0
}

/** @devsWhenUsed */
export class TcpConnStats {
    state = 0
    srttMs = 0
    rttvarMs = 0
    rtoMs = 0
    cwnd = 0
    ssthresh = 0
    sndWnd = 0
    rcvWnd = 0
    sndMss = 0
    rcvMss = 0
    segsIn = 0
    segsOut = 0
    bytesIn = 0
    bytesOut = 0
    retransmits = 0
    fastRetransmits = 0
    timeouts = 0
    oooDropped = 0
}

/** Row for a connection slot; handle is the user's handle or -1. */
export function connectionRow(c: Connection, handle: number, out: TcpSocketInfo): void {
    out.kind = TCP_ROW_CONNECTION
    out.handle = handle
    out.state = c.state
    out.localIp = c.localIp
    out.localPort = c.localPort
    out.remoteIp = c.remoteIp
    out.remotePort = c.remotePort
    out.sendQueued = c.sendRing.count
    out.recvQueued = c.recvRing.count
    out.error = c.error
}

export function listenerRow(l: Listener, handle: number, localIp: number, out: TcpSocketInfo): void {
    out.kind = TCP_ROW_LISTENER
    out.handle = handle
    out.state = TcpState.Listen
    out.localIp = localIp
    out.localPort = l.port
    out.synQueue = l.synCount
    out.acceptQueue = l.acceptQueueLength()
    out.backlog = l.backlog
}

export function requestRow(r: SynRequest, out: TcpSocketInfo): void {
    out.kind = TCP_ROW_REQUEST
    out.state = TcpState.SynReceived
    out.localIp = r.localIp
    out.localPort = r.localPort
    out.remoteIp = r.remoteIp
    out.remotePort = r.remotePort
}

export function clearRow(out: TcpSocketInfo): void {
    out.kind = TCP_ROW_FREE
    out.handle = -1
    out.state = TcpState.Closed
    out.localIp = 0
    out.localPort = 0
    out.remoteIp = 0
    out.remotePort = 0
    out.sendQueued = 0
    out.recvQueued = 0
    out.synQueue = 0
    out.acceptQueue = 0
    out.backlog = 0
    out.error = 0
}

export function connectionStats(c: Connection, out: TcpConnStats): void {
    out.state = c.state
    out.srttMs = c.rtt.srtt
    out.rttvarMs = c.rtt.rttvar
    out.rtoMs = c.rtt.rto
    out.cwnd = c.cwnd
    out.ssthresh = c.ssthresh
    out.sndWnd = c.sndWnd
    out.rcvWnd = receiveWindow(c)
    out.sndMss = c.sndMss
    out.rcvMss = c.rcvMss
    out.segsIn = c.segsIn
    out.segsOut = c.segsOut
    out.bytesIn = c.bytesIn
    out.bytesOut = c.bytesOut
    out.retransmits = c.retransmits
    out.fastRetransmits = c.fastRetransmits
    out.timeouts = c.timeouts
    out.oooDropped = c.oooDropped
}
