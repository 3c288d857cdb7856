// A listening socket (the "server socket"): one local port, with the SYN queue of
// half-open connections and the accept queue of established ones, each bounded by the
// backlog (the Linux model; the TCP layer does the queueing).
//
// accept() waits for a connection; acceptNow() returns null when none is queued. Every
// accepted connection is its own TcpSocket with a distinct 4-tuple on the same local port.

import { EAGAIN, EBADF, SocketError } from "../tcp/errors"
import { TCP_ROW_LISTENER } from "../tcp/info"
import { remainingMs, SocketContext } from "./context"
import { POLLIN, POLLNVAL, PollTarget } from "./poll"
import { TcpSocket } from "./socket"

/** @devsWhenUsed */
export class TcpListener implements PollTarget {
    /** TCP listener slot this object stands for. */
    readonly slot: number
    /** The TCP layer's listener handle while open, -1 once closed. */
    handle = -1
    waitMask = 0
    /** Local port and backlog while open. */
    port = 0
    backlog = 0

    private ctx: SocketContext
    private sockets: TcpSocket[]
    private acceptTimeoutMs = 0

    constructor(ctx: SocketContext, slot: number, sockets: TcpSocket[]) {
        this.ctx = ctx
        this.slot = slot
        this.sockets = sockets
    }

    bind(h: number, port: number, backlog: number): void {
        this.handle = h
        this.port = port
        this.backlog = backlog
        this.acceptTimeoutMs = 0
    }

    isOpen(): boolean {
        return this.handle >= 0
    }

    private open(): number {
        const h = this.handle
        if (h < 0) throw new SocketError(EBADF, "EBADF: listener is closed")
        return h
    }

    /** "LISTEN", or "CLOSED" after close(). */
    state(): string {
        return this.handle >= 0 ? "LISTEN" : "CLOSED"
    }

    /** The next established connection, or null when none is waiting. */
    acceptNow(): TcpSocket {
        const h = this.open()
        const c = this.ctx.tcp.accept(h)
        if (c === -EAGAIN) return null
        if (c < 0) throw new SocketError(-c)
        const s = this.sockets[c & 0xff]
        s.bind(c)
        return s
    }

    /** Waits for a connection. EAGAIN when the accept timeout (setAcceptTimeout) expires. */
    async accept(): Promise<TcpSocket> {
        const deadline = this.acceptTimeoutMs > 0 ? this.ctx.now() + this.acceptTimeoutMs : -1
        for (;;) {
            const s = this.acceptNow()
            if (s !== null) return s
            const left = remainingMs(this.ctx, deadline)
            if (left === 0) throw new SocketError(EAGAIN, "EAGAIN: accept timed out")
            await this.ctx.block(this, left)
        }
    }

    /** accept() gives up with EAGAIN after ms (0 = never). */
    setAcceptTimeout(ms: number): void {
        this.open()
        this.acceptTimeoutMs = ms > 0 ? ms : 0
    }

    /** Stops listening: half-open requests are dropped, connections not yet accepted are reset. */
    close(): void {
        const h = this.open()
        this.ctx.tcp.closeListener(h, this.ctx.now())
        this.handle = -1
        this.ctx.wakeMask(this.waitMask) // blocked accept() calls now get EBADF
        this.ctx.kick()
    }

    pollEvents(): number {
        const h = this.handle
        if (h < 0) return POLLNVAL
        const l = this.ctx.tcp.tables.listener(h) // (as TcpSocket.pollEvents: no layer method)
        return l !== null && l.acceptQueueLength() > 0 ? POLLIN : 0
    }

    /** Half-open connections (SYN-RECEIVED) in the SYN queue. */
    synQueueLength(): number {
        return this.row() ? this.ctx.tableRow().synQueue : 0
    }

    /** Established connections waiting for accept(). */
    acceptQueueLength(): number {
        return this.row() ? this.ctx.tableRow().acceptQueue : 0
    }

    private row(): boolean {
        if (this.handle < 0) return false
        const info = this.ctx.tableRow()
        return this.ctx.tcp.socketTableRow(this.ctx.connSlots + this.slot, info) && info.kind === TCP_ROW_LISTENER
    }
}
