// A connected TCP socket: the user's end of one TCP connection slot.
//
// Every I/O call has two forms, as with a blocking and an O_NONBLOCK file descriptor:
//   readNow / writeNow   return at once: bytes, 0 = end of stream (read), or WOULD_BLOCK
//   read / write         await until they can make progress (or a timeout option expires)
// Failures are thrown as SocketError with a Linux errno code (ECONNRESET, ETIMEDOUT, EPIPE,
// EBADF on a closed socket ...). The connection's error is sticky: every later call
// reports it again, until close().
//
// Objects come from a pool made at start-up, one per TCP connection slot, and are reused
// when the slot is: do not keep using a socket after close() (like a reused fd number).

import { Connection } from "../tcp/connection"
import { EAGAIN, EBADF, EINVAL, RECV_EOF, SocketError } from "../tcp/errors"
import { TcpConnStats } from "../tcp/info"
import { stateName, TcpState } from "../tcp/state"
import { inBounds, isReadable, isWritable } from "../tcp/tcp-user"
import { remainingMs, SocketContext } from "./context"
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDHUP, PollTarget } from "./poll"

/** readNow()/writeNow() result when the call would have to wait: -EAGAIN. */
export const WOULD_BLOCK = -EAGAIN

/**
 * While close() lingers, how often it re-checks whether our FIN was acknowledged: the TCP
 * layer reports no event when an ACK covers only the FIN (FIN-WAIT-1 -> FIN-WAIT-2).
 */
const LINGER_RECHECK_MS = 50

/** EINVAL unless buf[off, off + len) lies inside buf (a longer length would leak or lose bytes). */
function checkRange(buf: Buffer, off: number, len: number): void {
    if (!inBounds(buf, off, len)) throw new SocketError(EINVAL)
}

/** @devsWhenUsed */
export class TcpSocket implements PollTarget {
    /** TCP connection slot this object stands for. */
    readonly slot: number
    /** The TCP layer's handle while open, -1 once closed. */
    handle = -1
    waitMask = 0
    /** The connection's 4-tuple, recorded when it was opened (kept after close for logs). */
    localIp = 0
    localPort = 0
    remoteIp = 0
    remotePort = 0

    private ctx: SocketContext
    /** Bytes of the send ring this socket may fill; 0 = the whole ring. */
    private sendLimit = 0
    private recvLimit = 0
    private readTimeoutMs = 0
    private writeTimeoutMs = 0
    /** close() waits this long for the peer to acknowledge everything; -1 = linger off. */
    private lingerMs = -1
    /** shutdown() was called: writes fail with EPIPE. */
    private wrShut = false

    constructor(ctx: SocketContext, slot: number) {
        this.ctx = ctx
        this.slot = slot
    }

    /** Takes a fresh TCP handle (from accept or connect); options return to their defaults. */
    bind(h: number): void {
        this.handle = h
        this.sendLimit = 0
        this.recvLimit = 0
        this.readTimeoutMs = 0
        this.writeTimeoutMs = 0
        this.lingerMs = -1
        this.wrShut = false
        // h was just handed out for this slot, so the slot's connection is the one it names.
        const c = this.ctx.tcp.conns[this.slot]
        this.localIp = c.localIp
        this.localPort = c.localPort
        this.remoteIp = c.remoteIp
        this.remotePort = c.remotePort
    }

    isOpen(): boolean {
        return this.handle >= 0
    }

    private open(): number {
        const h = this.handle
        if (h < 0) throw new SocketError(EBADF, "EBADF: socket is closed")
        return h
    }

    // ------------------------------------------------------------------ status

    /** TCP state as numbered in src/tcp/state.ts (CLOSED after close()). */
    stateCode(): number {
        if (this.handle < 0) return TcpState.Closed
        const s = this.ctx.tcp.state(this.handle)
        return s < 0 ? TcpState.Closed : s
    }

    /** The RFC 9293 state name: "ESTABLISHED", "FIN-WAIT-2", ... ("CLOSED" after close()). */
    state(): string {
        return stateName(this.stateCode())
    }

    /** The connection's pending error (SO_ERROR): ECONNRESET, ... or 0. */
    error(): number {
        if (this.handle < 0) return 0
        const e = this.ctx.tcp.error(this.handle)
        return e < 0 ? 0 : e
    }

    /** Unread bytes in the receive ring. */
    bytesReadable(): number {
        if (this.handle < 0) return 0
        const n = this.ctx.tcp.bytesReadable(this.handle)
        return n < 0 ? 0 : n
    }

    /** Bytes writeNow() would take now (within the send-buffer limit). */
    sendSpace(): number {
        if (this.handle < 0) return 0
        let room = this.ctx.tcp.sendSpace(this.handle)
        if (room < 0) return 0
        if (this.sendLimit > 0) {
            const allowed = this.sendLimit - (this.ctx.sendRingSize - room)
            if (allowed < room) room = allowed
        }
        return room > 0 ? room : 0
    }

    /** Bytes queued in the send ring (sent but unacknowledged, and unsent). */
    bytesQueued(): number {
        if (this.handle < 0) return 0
        const room = this.ctx.tcp.sendSpace(this.handle)
        return room < 0 ? 0 : this.ctx.sendRingSize - room
    }

    /** Per-connection statistics (RTT, cwnd, retransmissions ...); false when closed. */
    stats(out: TcpConnStats): boolean {
        return this.handle >= 0 && this.ctx.tcp.stats(this.handle, out)
    }

    pollEvents(): number {
        const h = this.handle
        if (h < 0) return POLLNVAL
        // The connection, looked up once (not through the layer's readable(h), writable(h),
        // hasError(h) and state(h): four lookups, and four methods of firmware code).
        const c = this.ctx.tcp.tables.conn(h)
        if (c === null) return 0
        let ev = 0
        if (isReadable(c)) ev |= POLLIN
        if (this.writable(c)) ev |= POLLOUT
        if (c.error !== 0) ev |= POLLERR
        const st = c.state
        if (st === TcpState.Closed || st === TcpState.Closing || st === TcpState.LastAck || st === TcpState.TimeWait) {
            ev |= POLLHUP | POLLRDHUP
        } else if (st === TcpState.CloseWait) {
            ev |= POLLRDHUP
        }
        return ev
    }

    /** writeNow() would not return WOULD_BLOCK. */
    private writable(c: Connection): boolean {
        if (!isWritable(c)) return false
        if (c.error !== 0 || this.wrShut) return true
        const st = c.state
        if (st !== TcpState.Established && st !== TcpState.CloseWait) return true // CLOSED: reports
        return this.sendSpace() > 0
    }

    // ------------------------------------------------------------------ reading

    /** Reads up to len bytes: how many (> 0), 0 = end of stream, or WOULD_BLOCK. EINVAL: range outside buf. */
    readNow(buf: Buffer, off: number, len: number): number {
        const h = this.open()
        checkRange(buf, off, len)
        if (len === 0) return 0
        const n = this.ctx.tcp.recv(h, buf, off, len, this.ctx.now())
        if (n > 0) {
            this.ctx.kick() // reading may have opened the window: an update may be due
            return n
        }
        if (n === 0) return WOULD_BLOCK
        if (n === RECV_EOF) return 0
        throw new SocketError(-n)
    }

    /** Waits for data: bytes read (> 0) or 0 = end of stream. EAGAIN if the read timeout expires. */
    async read(buf: Buffer, off: number, len: number): Promise<number> {
        const deadline = this.readTimeoutMs > 0 ? this.ctx.now() + this.readTimeoutMs : -1
        for (;;) {
            const n = this.readNow(buf, off, len)
            if (n !== WOULD_BLOCK) return n
            const left = remainingMs(this.ctx, deadline)
            if (left === 0) throw new SocketError(EAGAIN, "EAGAIN: read timed out")
            await this.ctx.block(this, left)
        }
    }

    // ------------------------------------------------------------------ writing

    /** Queues up to len bytes: how many (> 0), or WOULD_BLOCK. EPIPE after shutdown(); EINVAL: range outside buf. */
    writeNow(buf: Buffer, off: number, len: number): number {
        const h = this.open()
        checkRange(buf, off, len)
        let n = len
        if (this.sendLimit > 0) {
            const room = this.sendSpace()
            if (n > room) n = room
        }
        // Even a zero-length send is made, so errors (EPIPE, ECONNRESET ...) are reported.
        const r = this.ctx.tcp.send(h, buf, off, n, this.ctx.now())
        if (r < 0) throw new SocketError(-r)
        if (r > 0) {
            this.ctx.kick()
            return r
        }
        return len === 0 ? 0 : WOULD_BLOCK
    }

    /**
     * Queues all len bytes, waiting for room as needed; returns len. If the write timeout
     * expires first it returns the bytes queued so far, or throws EAGAIN if none.
     */
    async write(buf: Buffer, off: number, len: number): Promise<number> {
        const deadline = this.writeTimeoutMs > 0 ? this.ctx.now() + this.writeTimeoutMs : -1
        let done = 0
        for (;;) {
            const n = this.writeNow(buf, off + done, len - done)
            if (n > 0) done += n
            if (done >= len) return done
            if (n > 0) continue
            const left = remainingMs(this.ctx, deadline)
            if (left === 0) {
                if (done > 0) return done
                throw new SocketError(EAGAIN, "EAGAIN: write timed out")
            }
            await this.ctx.block(this, left)
        }
    }

    // ------------------------------------------------------------------ closing

    /** Half-close: a FIN follows the queued data; reading goes on. Later writes fail with EPIPE. */
    shutdown(): void {
        const h = this.open()
        const r = this.ctx.tcp.shutdown(h, this.ctx.now())
        if (r < 0) throw new SocketError(-r)
        this.wrShut = true
        this.ctx.wakeMask(this.waitMask) // a blocked writer now gets EPIPE
        this.ctx.kick()
    }

    /**
     * Releases the socket. Graceful (FIN after the queued data, finished in the background)
     * unless abort-on-close (linger 0) is set or unread data is waiting: then RST.
     * With linger > 0 it first waits until the peer acknowledged all data and our FIN, or
     * the linger time passed. Returns false only when a linger time ran out first.
     */
    async close(): Promise<boolean> {
        const h = this.open()
        let complete = true
        if (this.lingerMs > 0) {
            const deadline = this.ctx.now() + this.lingerMs
            if (!this.wrShut) {
                this.wrShut = true
                this.ctx.tcp.shutdown(h, this.ctx.now())
                this.ctx.kick()
            }
            complete = false
            for (;;) {
                if (this.handle !== h) return false // closed by another task meanwhile
                if (this.allAcked(h)) {
                    complete = true
                    break
                }
                const left = deadline - this.ctx.now()
                if (left <= 0) break
                await this.ctx.block(this, left < LINGER_RECHECK_MS ? left : LINGER_RECHECK_MS)
            }
            if (this.handle !== h) return false
        }
        this.closeNow()
        return complete
    }

    /** Our FIN (and so all data) was acknowledged, or the connection is gone. */
    private allAcked(h: number): boolean {
        const tcp = this.ctx.tcp
        const st = tcp.state(h)
        return tcp.error(h) !== 0 || st === TcpState.FinWait2 || st === TcpState.TimeWait || st === TcpState.Closed
    }

    /** close() without lingering. */
    closeNow(): void {
        const h = this.open()
        this.ctx.tcp.close(h, this.ctx.now())
        this.release()
    }

    /** Resets the connection (RST) and releases the socket. */
    abort(): void {
        const h = this.open()
        this.ctx.tcp.abort(h, this.ctx.now())
        this.release()
    }

    private release(): void {
        this.handle = -1
        this.ctx.wakeMask(this.waitMask) // blocked callers now get EBADF
        this.ctx.kick()
    }

    // ------------------------------------------------------------------ options

    /** TCP_NODELAY: true sends small writes at once instead of coalescing them (Nagle). */
    setNoDelay(on: boolean): void {
        const h = this.open()
        this.ctx.tcp.setNoDelay(h, on, this.ctx.now())
        this.ctx.kick()
    }

    /** SO_KEEPALIVE, with idle time, probe interval and probe count (0 = the stack's defaults). */
    setKeepalive(on: boolean, idleMs: number, intervalMs: number, count: number): void {
        const h = this.open()
        this.ctx.tcp.setKeepalive(h, on, idleMs, intervalMs, count, this.ctx.now())
        this.ctx.kick() // a new timer: the pump must not sleep past it
    }

    /**
     * SO_LINGER. on with ms = 0: close() resets the connection (abort-on-close). on with
     * ms > 0: close() waits up to ms for everything to be acknowledged. off: plain close.
     */
    setLinger(on: boolean, ms: number): void {
        const h = this.open()
        if (on && !(ms >= 0)) throw new SocketError(EINVAL, "EINVAL: linger time")
        const abortOnClose = on && ms === 0
        this.ctx.tcp.setAbortOnClose(h, abortOnClose)
        this.lingerMs = on && ms > 0 ? ms : -1
    }

    /** Linger with a zero time: close() sends RST. */
    setAbortOnClose(on: boolean): void {
        this.setLinger(on, 0)
    }

    /**
     * SO_SNDBUF within the fixed budget: how much of the send ring this socket may fill
     * (1..ring size; a smaller value bounds the data queued ahead of the peer). EINVAL
     * above the ring size: rings are allocated once and never grow.
     */
    setSendBuffer(bytes: number): void {
        this.open()
        if (!(bytes >= 1 && bytes <= this.ctx.sendRingSize)) throw new SocketError(EINVAL, "EINVAL: send buffer must be 1.." + this.ctx.sendRingSize)
        this.sendLimit = bytes === this.ctx.sendRingSize ? 0 : bytes
    }

    sendBufferSize(): number {
        return this.sendLimit > 0 ? this.sendLimit : this.ctx.sendRingSize
    }

    /**
     * SO_RCVBUF within the fixed budget: the most unread data the peer may send us
     * (1..ring size, else EINVAL). It caps the window we offer.
     */
    setRecvBuffer(bytes: number): void {
        const h = this.open()
        if (!(bytes >= 1 && bytes <= this.ctx.recvRingSize)) throw new SocketError(EINVAL, "EINVAL: receive buffer must be 1.." + this.ctx.recvRingSize)
        this.recvLimit = bytes === this.ctx.recvRingSize ? 0 : bytes
        this.ctx.tcp.setRecvLimit(h, bytes)
    }

    /** The receive buffer in use: setRecvBuffer()'s value, or the ring's size. */
    recvBufferSize(): number {
        if (this.recvLimit > 0) return this.recvLimit
        return this.ctx.recvRingSize
    }

    /** SO_RCVTIMEO / SO_SNDTIMEO: read()/write() give up with EAGAIN after ms (0 = never). */
    setReadTimeout(ms: number): void {
        this.open()
        this.readTimeoutMs = ms > 0 ? ms : 0
    }

    setWriteTimeout(ms: number): void {
        this.open()
        this.writeTimeoutMs = ms > 0 ? ms : 0
    }
}
