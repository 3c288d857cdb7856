// The socket API: BSD sockets in spirit, over the TCP layer.
//
//   const l = sockets.listen(7, 4)            // bind + listen; EADDRINUSE if taken
//   const s = await l.accept()                // or l.acceptNow(): null = would block
//   const c = await sockets.connect("10.0.0.1", 7)   // new ephemeral local port
//   await c.write(buf, 0, n); const got = await c.read(buf, 0, buf.length)  // 0 = EOF
//   c.shutdown(); await c.close()
//   const ready = await sockets.poll(set, 1000)       // POLLIN / POLLOUT / POLLERR / POLLHUP
//
// All socket and listener objects are made here at start-up: one per TCP connection slot
// and one per listener slot. Blocked callers sleep on pool Waiters and are woken from
// TcpLayer.onEvent: nothing polls in a loop.

import { StackConfig } from "../config"
import { EBADF, EINVAL, ETIMEDOUT, SocketError } from "../tcp/errors"
import { TCP_EV_ACCEPTABLE, TcpEventHook } from "../tcp/events"
import { TcpLayer } from "../tcp/tcp-layer"
import { TcpState } from "../tcp/state"
import { parseIpv4 } from "../wire/ipv4"
import { remainingMs, SocketContext, WAIT_SLICE_MS } from "./context"
import { TcpListener } from "./listener"
import { Netstat, NetstatRow } from "./netstat"
import { PollSet } from "./poll"
import { Scheduler } from "./scheduler"
import { TcpSocket } from "./socket"

export interface ListenOptions {
    /** Answer RST instead of dropping when the accept queue is full (Linux tcp_abort_on_overflow). */
    abortOnOverflow?: boolean
}

/**
 * The TCP layer's event hook, made outside the constructor: a DeviceScript closure keeps its
 * whole enclosing frame alive, and the constructor's holds the stack's config.
 */
function tcpEventHook(self: Sockets): TcpEventHook {
    return (h: number, ev: number) => {
        self.onTcpEvent(h, ev)
    }
}

/** @devsWhenUsed */
export class Sockets {
    readonly ctx: SocketContext
    /** One per TCP connection slot, and one per listener slot. */
    readonly sockets: TcpSocket[] = []
    readonly listeners: TcpListener[] = []
    /** Made by the first netstat call, so firmware that never lists sockets compiles none of it. */
    private stat: Netstat = null

    constructor(tcp: TcpLayer, sched: Scheduler, config: StackConfig, waiters: number) {
        this.ctx = new SocketContext(tcp, sched, config.tcpSendBuffer, config.tcpRecvBuffer, waiters)
        for (let i = 0; i < tcp.conns.length; i++) this.sockets.push(new TcpSocket(this.ctx, i))
        for (let i = 0; i < tcp.listeners.length; i++) this.listeners.push(new TcpListener(this.ctx, i, this.sockets))
        tcp.onEvent = tcpEventHook(this)
    }

    /** The runtime (for apps: sleep, spawn worker tasks). */
    scheduler(): Scheduler {
        return this.ctx.sched
    }

    /** Readiness reported by the TCP layer: wake whoever waits on that socket or listener. */
    onTcpEvent(h: number, ev: number): void {
        if (ev & TCP_EV_ACCEPTABLE) {
            const l = this.listeners[h & 0xff]
            if (l !== undefined && l.handle === h) this.ctx.wakeMask(l.waitMask)
            return
        }
        const s = this.sockets[h & 0xff]
        if (s !== undefined && s.handle === h) this.ctx.wakeMask(s.waitMask)
    }

    // ------------------------------------------------------------------ listen / connect

    /**
     * Listens on a local port. backlog (1..config.tcpBacklogMax) bounds the SYN queue and
     * the accept queue. Throws EADDRINUSE (port taken), EMFILE (no free listener), EINVAL.
     */
    listen(port: number, backlog: number, opts?: ListenOptions): TcpListener {
        const abortOnOverflow = opts ? !!opts.abortOnOverflow : false
        const h = this.ctx.tcp.listen(port, backlog, abortOnOverflow)
        if (h < 0) throw new SocketError(-h)
        const l = this.listeners[h & 0xff]
        // The TCP layer clamps the backlog to config.tcpBacklogMax.
        l.bind(h, port, this.ctx.tcp.listeners[l.slot].backlog)
        return l
    }

    /**
     * Starts an active open and returns the socket at once (SYN-SENT). It becomes
     * writable (POLLOUT) when established; a failure shows as POLLERR and error().
     * Throws EMFILE when every connection slot is in use, EINVAL for a bad address.
     */
    connectNow(ip: number | string, port: number, localPort?: number): TcpSocket {
        const dst = typeof ip === "string" ? parseIpv4(ip) : ip
        if (!(dst > 0)) throw new SocketError(EINVAL, "EINVAL: bad address")
        const h = this.ctx.tcp.connect(dst, port, this.ctx.now(), localPort ? localPort : 0)
        if (h < 0) throw new SocketError(-h)
        const s = this.sockets[h & 0xff]
        s.bind(h)
        this.ctx.kick()
        return s
    }

    /**
     * Connects and waits for the handshake. Throws ECONNREFUSED (RST answer), ETIMEDOUT
     * (no answer after the SYN retries, or timeoutMs > 0 passed), EMFILE (no free slot).
     */
    async connect(ip: number | string, port: number, timeoutMs?: number): Promise<TcpSocket> {
        const s = this.connectNow(ip, port, 0)
        const h = s.handle
        const deadline = timeoutMs && timeoutMs > 0 ? this.ctx.now() + timeoutMs : -1
        for (;;) {
            if (s.handle !== h) throw new SocketError(EBADF, "EBADF: closed while connecting")
            const err = s.error()
            if (err !== 0) {
                s.closeNow()
                throw new SocketError(err)
            }
            const st = s.stateCode()
            if (st !== TcpState.SynSent && st !== TcpState.SynReceived) return s
            const left = remainingMs(this.ctx, deadline)
            if (left === 0) {
                s.abort()
                throw new SocketError(ETIMEDOUT, "ETIMEDOUT: connect timed out")
            }
            await this.ctx.block(s, left)
        }
    }

    // ------------------------------------------------------------------ poll

    /** Fills the set's revents now; returns how many entries are ready. */
    pollNow(set: PollSet): number {
        return set.scan()
    }

    /**
     * Waits until an entry of the set is ready or timeoutMs passed (< 0: no limit, 0: just
     * look). Returns how many entries are ready (0 = timeout); see set.revents(i).
     */
    async poll(set: PollSet, timeoutMs: number): Promise<number> {
        const deadline = timeoutMs > 0 ? this.ctx.now() + timeoutMs : -1
        for (;;) {
            const n = set.scan()
            if (n > 0 || timeoutMs === 0) return n
            let left = remainingMs(this.ctx, deadline)
            if (left === 0) return 0
            if (left < 0) left = WAIT_SLICE_MS
            const ctx = this.ctx
            const i = ctx.acquire()
            const bit = 1 << i
            set.markWaiter(bit, true)
            try {
                await ctx.waiters[i].wait(left)
            } finally {
                set.markWaiter(bit, false)
                ctx.release(i)
            }
        }
    }

    // ------------------------------------------------------------------ netstat

    /** Refills and returns the netstat rows; netstatCount() says how many are valid. */
    netstat(): NetstatRow[] {
        const t = this.netstatTable()
        t.refresh()
        return t.rows
    }

    netstatCount(): number {
        return this.netstatTable().count
    }

    /** A netstat-style text table of every socket and listener. */
    netstatText(): string {
        return this.netstatTable().text()
    }

    private netstatTable(): Netstat {
        if (this.stat === null) this.stat = new Netstat(this.ctx.tcp, this.ctx.tableRow())
        return this.stat
    }
}
