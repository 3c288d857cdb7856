// netstat: every TCP socket with its state, 4-tuple and ring occupancy, and every
// listener with its SYN-queue and accept-queue occupancy against the backlog.
//
// Structured rows live in a fixed array (one per row of the TCP table) refilled in place.
// The array is made on the first refresh() (once: a device that never lists its sockets
// does not pay the ~250 heap bytes a row costs in DeviceScript). text() renders the rows
// as a netstat-style table (that allocates strings: it is for humans).

import { errorName } from "../tcp/errors"
import { TcpSocketInfo, TCP_ROW_CONNECTION, TCP_ROW_LISTENER, TCP_ROW_REQUEST } from "../tcp/info"
import { TcpLayer } from "../tcp/tcp-layer"
import { stateName } from "../tcp/state"
import { formatIpv4 } from "../wire/ipv4"

/** @devsWhenUsed */
export class NetstatRow {
    /** TCP_ROW_CONNECTION, TCP_ROW_LISTENER or TCP_ROW_REQUEST (a SYN-queue entry). */
    kind = 0
    /** RFC 9293 state name ("LISTEN", "ESTABLISHED", "SYN-RECEIVED", ...). */
    state = "CLOSED"
    localIp = 0
    localPort = 0
    /** 0 for a listener (any peer). */
    remoteIp = 0
    remotePort = 0
    /** Bytes in the send ring (unacknowledged + unsent) and the receive ring (unread). */
    sendQueued = 0
    recvQueued = 0
    /** Listeners: SYN-queue and accept-queue occupancy, and the backlog bounding each. */
    synQueue = 0
    acceptQueue = 0
    backlog = 0
    /** A user holds this connection (false: in an accept queue, or closing in the background). */
    held = false
    /** Pending error code, 0 = none. */
    error = 0
}

/** @devsWhenUsed */
export class Netstat {
    readonly rows: NetstatRow[] = []
    /** Rows filled by the last refresh(). */
    count = 0
    private tcp: TcpLayer
    private info: TcpSocketInfo

    /** info: a scratch record to fill from the TCP layer (shared with the socket layer). */
    constructor(tcp: TcpLayer, info: TcpSocketInfo) {
        this.tcp = tcp
        this.info = info
    }

    /** Refills rows: listeners first, then connections, then half-open requests. Returns the count. */
    refresh(): number {
        if (this.rows.length === 0) {
            const n = this.tcp.socketTableSize()
            for (let i = 0; i < n; i++) this.rows.push(new NetstatRow())
        }
        this.count = 0
        this.collect(TCP_ROW_LISTENER)
        this.collect(TCP_ROW_CONNECTION)
        this.collect(TCP_ROW_REQUEST)
        return this.count
    }

    private collect(kind: number): void {
        const tcp = this.tcp
        const info = this.info
        const n = tcp.socketTableSize()
        for (let i = 0; i < n && this.count < this.rows.length; i++) {
            if (!tcp.socketTableRow(i, info) || info.kind !== kind) continue
            const r = this.rows[this.count]
            r.kind = info.kind
            r.state = stateName(info.state)
            r.localIp = info.localIp
            r.localPort = info.localPort
            r.remoteIp = info.remoteIp
            r.remotePort = info.remotePort
            r.sendQueued = info.sendQueued
            r.recvQueued = info.recvQueued
            r.synQueue = info.synQueue
            r.acceptQueue = info.acceptQueue
            r.backlog = info.backlog
            r.held = info.handle >= 0
            r.error = info.error
            this.count++
        }
    }

    /** Refreshes and renders a table like `netstat -tn`, plus the listener queues. */
    text(): string {
        this.refresh()
        let s = "Proto Recv-Q Send-Q " + padRight("Local Address", 22) + padRight("Foreign Address", 22) + "State"
        for (let i = 0; i < this.count; i++) {
            const r = this.rows[i]
            const local = formatIpv4(r.localIp) + ":" + r.localPort
            const foreign = r.kind === TCP_ROW_LISTENER ? "0.0.0.0:*" : formatIpv4(r.remoteIp) + ":" + r.remotePort
            let line = "tcp   " + padLeft("" + r.recvQueued, 6) + " " + padLeft("" + r.sendQueued, 6) + " "
            line += padRight(local, 22) + padRight(foreign, 22) + padRight(r.state, 13)
            if (r.kind === TCP_ROW_LISTENER) {
                line += "syn-q " + r.synQueue + "/" + r.backlog + " accept-q " + r.acceptQueue + "/" + r.backlog
            } else if (r.kind === TCP_ROW_CONNECTION && !r.held) {
                line += "(no user)"
            }
            if (r.error !== 0) line += " " + errorName(r.error)
            s += "\n" + trimRight(line)
        }
        return s
    }
}

function padRight(s: string, width: number): string {
    let out = s
    while (out.length < width) out += " "
    return out + " "
}

function padLeft(s: string, width: number): string {
    let out = s
    while (out.length < width) out = " " + out
    return out
}

function trimRight(s: string): string {
    let end = s.length
    while (end > 0 && s.charCodeAt(end - 1) === 32) end--
    return end === s.length ? s : s.slice(0, end)
}
