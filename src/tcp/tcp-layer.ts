// The TCP layer: the connection and listener tables, demultiplexing on the full 4-tuple,
// "no connection" resets (RFC 9293 §3.10.7.1), timers, readiness events, and the
// synchronous API a socket layer wraps. Passive opens (LISTEN, SYN queue, SYN cookies,
// accept queue) are in passive-open.ts; the state machine in tcp-input/output/timers/user.
//
// Handles: integers. A connection handle is (generation << 8) | slot, a listener handle
// likewise in the listener table; a handle stops working when its slot is reused.
// Calls return a negative errno (-ECONNRESET, ...) on failure; see errors.ts.
// Memory: everything is allocated in the constructor; nothing per segment.

import { StackConfig } from "../config"
import { AddressListener, Ipv4Handler } from "../iface/interface"
import { ipv4IsNotHost } from "../wire/ipv4"
import { IPPROTO_TCP, parseTcp, TcpRepr, TCP_ACK, TCP_ERR_CHECKSUM, TCP_OK, TCP_RST, TCP_SYN } from "../wire/tcp"
import { Connection, TIME_NEVER } from "./connection"
import { TcpCounters } from "./counters"
import { EphemeralPorts } from "./ephemeral"
import { EADDRINUSE, EADDRNOTAVAIL, EAGAIN, EBADF, ECONNABORTED, EINVAL, EMFILE } from "./errors"
import { TcpEventHook } from "./events"
import {
    clearRow, connectionRow, connectionStats, listenerRow, requestRow, TcpConnStats, TcpSocketInfo,
} from "./info"
import { TcpIpPort } from "./ip-port"
import { Listener } from "./listener"
import { PassiveOpen } from "./passive-open"
import { RttEstimator } from "./rtt"
import { seqAdd, seqGt } from "./seq"
import { MAX_WINDOW, TcpShared } from "./shared"
import { TcpState } from "./state"
import { SynQueue } from "./syn-queue"
import { MAX_SLOTS, TcpTables } from "./tables"
import { tcpInput } from "./tcp-input"
import { tcpOutput } from "./tcp-output"
import { tcpTimers } from "./tcp-timers"
import {
    inBounds, isReadable, isWritable, openActive, userAbort, userClose, userRecv, userSend, userShutdown,
} from "./tcp-user"

/** @devsWhenUsed */
export class TcpLayer implements Ipv4Handler, AddressListener {
    readonly shared: TcpShared
    readonly counters: TcpCounters
    readonly tables: TcpTables
    readonly conns: Connection[]
    readonly listeners: Listener[]
    readonly requests: SynQueue
    /** Readiness hook for the socket layer (see events.ts); null = none. */
    onEvent: TcpEventHook = null

    private port: TcpIpPort
    private passive: PassiveOpen
    private ports: EphemeralPorts
    private backlogMax: number
    private rx: TcpRepr
    private flushing = false
    /** The connection that goes first when poll() retries output that found no frame. */
    private turn = 0

    constructor(port: TcpIpPort, config: StackConfig) {
        if (config.tcpConnections < 1 || config.tcpConnections > MAX_SLOTS || config.tcpListeners < 1 || config.tcpListeners > MAX_SLOTS) {
            throw new Error("config: tcpConnections and tcpListeners must be 1.." + MAX_SLOTS)
        }
        if (config.tcpSendBuffer < 2 || config.tcpRecvBuffer < 2) throw new Error("config: TCP buffers too small")
        this.port = port
        const sh = new TcpShared(port, config)
        this.shared = sh
        this.counters = sh.counters
        this.tables = new TcpTables(sh.counters)
        this.conns = this.tables.conns
        this.listeners = this.tables.listeners
        for (let i = 0; i < config.tcpConnections; i++) {
            const rtt = new RttEstimator(sh.rtoInitial, sh.rtoMin, sh.rtoMax)
            this.conns.push(new Connection(i, config.tcpSendBuffer, config.tcpRecvBuffer, config.tcpReassemblyRanges, rtt))
        }
        this.backlogMax = config.tcpBacklogMax < 1 ? 1 : config.tcpBacklogMax
        for (let i = 0; i < config.tcpListeners; i++) this.listeners.push(new Listener(i, this.backlogMax))
        this.passive = new PassiveOpen(sh, this.tables, config)
        this.requests = this.passive.requests
        this.ports = new EphemeralPorts(config.tcpEphemeralMin, config.tcpEphemeralMax, config.tcpSecretSeed, config.tcpSecretSeed2)
        this.rx = new TcpRepr()
        port.registerIpv4Handler(IPPROTO_TCP, this)
        port.addressListener = this
    }

    /**
     * Our address changed (a DHCP lease lost or replaced): a connection is named by its
     * 4-tuple (RFC 9293 §3.4), so one bound to another address can never be reached again.
     * It is aborted with ECONNABORTED (no RST: we no longer own its source address).
     */
    addressChanged(): void {
        for (let i = 0; i < this.conns.length; i++) {
            const c = this.conns[i]
            if (c.inUse && c.state !== TcpState.Closed && c.localIp !== this.port.ip) {
                c.enterClosed(ECONNABORTED)
                this.tables.reap(c)
            }
        }
        this.flushEvents()
    }

    // ================================================================== input

    /** Called by the interface for every TCP datagram; the buffer is reused afterwards. */
    ipv4Input(iface: TcpIpPort, buf: Buffer, payloadOff: number, payloadLen: number, src: number, dst: number, now: number): void {
        this.input(buf, payloadOff, payloadLen, src, dst, now)
        this.flushEvents()
    }

    private input(buf: Buffer, off: number, len: number, src: number, dst: number, now: number): void {
        const k = this.counters
        const t = this.tables
        k.rxSegments++
        // TCP is unicast only (RFC 1122 §4.2.3.10): broadcasts and foreign addresses are dropped.
        if (this.port.ip === 0 || dst !== this.port.ip) {
            k.rxDropNotForUs++
            return
        }
        const seg = this.rx
        const r = parseTcp(buf, off, len, src, dst, seg, true)
        if (r !== TCP_OK) {
            if (r === TCP_ERR_CHECKSUM) k.rxDropChecksum++
            else k.rxDropMalformed++
            return
        }
        if (seg.srcPort === 0 || seg.dstPort === 0) {
            k.rxDropBadPort++
            return
        }
        const c = t.findConnection(seg.dstPort, src, seg.srcPort)
        if (c !== null) {
            if (c.state !== TcpState.TimeWait || !this.reusesTimeWait(c, seg)) {
                tcpInput(this.shared, c, seg, buf, now)
                t.reap(c)
                return
            }
            // RFC 1122 §4.2.2.13 / RFC 6191: a new SYN above the old sequence space ends
            // TIME-WAIT; the new connection's ISN starts above the old one's.
            k.timeWaitReused++
            this.passive.setIsnFloor(seqAdd(c.sndNxt, MAX_WINDOW + 1))
            c.enterClosed(0)
            t.reap(c)
        }
        const req = this.requests.find(seg.dstPort, src, seg.srcPort)
        if (req !== null) {
            this.passive.requestInput(req, seg, buf, src, now)
            return
        }
        const l = t.findListener(seg.dstPort)
        if (l !== null) {
            this.passive.listenInput(l, seg, buf, src, now)
            return
        }
        k.rxNoConnection++
        this.shared.sendResetFor(seg, src, now)
    }

    private reusesTimeWait(c: Connection, seg: TcpRepr): boolean {
        return (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN && seqGt(seg.seq, c.rcvNxt) &&
            this.tables.findListener(seg.dstPort) !== null
    }

    // ================================================================== time

    /** Runs due timers and any output that waited for a frame. */
    poll(now: number): void {
        const sh = this.shared
        const retryOutput = sh.outputBlocked
        sh.outputBlocked = false
        // Half-open requests first: a SYN-ACK owed since it found no frame goes before any retry.
        this.passive.poll(now, retryOutput)
        // Connections waiting for frames take turns at going first.
        const n = this.conns.length
        if (retryOutput) this.turn = (this.turn + 1) % n
        for (let i = 0; i < n; i++) {
            const c = this.conns[(i + this.turn) % n]
            if (!c.inUse) continue
            if (c.nextDeadline() <= now || retryOutput) {
                // One connection's bug must not stop the others' timers; its state is
                // suspect, so it is dropped (or it would fail again at every poll).
                try {
                    tcpTimers(sh, c, now)
                } catch (e) {
                    this.counters.internalErrors++
                    c.enterClosed(ECONNABORTED)
                }
                this.tables.reap(c)
            }
        }
        this.flushEvents()
    }

    /**
     * The earliest time poll() has work (output that waits for a free frame is retried
     * OUTPUT_RETRY_MS after it found none); TIME_NEVER = nothing scheduled.
     */
    pollAt(): number {
        const sh = this.shared
        let t = sh.outputBlocked ? sh.retryAt : TIME_NEVER
        for (let i = 0; i < this.conns.length; i++) {
            const c = this.conns[i]
            if (!c.inUse) continue
            const d = c.nextDeadline()
            if (d < t) t = d
        }
        return this.passive.nextDeadline(t)
    }

    /**
     * Delivers collected events to onEvent (the hook may call back into the layer). An
     * exception from the hook is counted; it must not leave `flushing` set, which would
     * silence every later event (events not yet delivered go out at the next flush).
     */
    private flushEvents(): void {
        if (this.flushing) return
        this.flushing = true
        try {
            for (let pass = 0; pass < 4; pass++) {
                let any = false
                for (let i = 0; i < this.conns.length; i++) {
                    const c = this.conns[i]
                    const ev = c.pendingEvents
                    if (ev === 0) continue
                    c.pendingEvents = 0
                    if (this.onEvent !== null && c.inUse && c.userHeld) {
                        any = true
                        this.onEvent(this.tables.handleOf(c), ev)
                    }
                }
                for (let i = 0; i < this.listeners.length; i++) {
                    const l = this.listeners[i]
                    const ev = l.pendingEvents
                    if (ev === 0) continue
                    l.pendingEvents = 0
                    if (this.onEvent !== null && l.inUse) {
                        any = true
                        this.onEvent(this.tables.listenerHandle(l), ev)
                    }
                }
                if (!any) break
            }
        } catch (e) {
            this.counters.internalErrors++
        }
        this.flushing = false
    }

    // ================================================================== API: listeners

    /**
     * Listens on a local port. backlog bounds both the SYN queue and the accept queue
     * (1..tcpBacklogMax). Returns a listener handle or -EINVAL/-EADDRINUSE/-EMFILE.
     */
    listen(port: number, backlog: number, abortOnOverflow: boolean): number {
        if (!(port > 0 && port <= 65535)) return -EINVAL
        if (this.tables.findListener(port) !== null) return -EADDRINUSE
        let l: Listener = null
        for (let i = 0; i < this.listeners.length && l === null; i++) if (!this.listeners[i].inUse) l = this.listeners[i]
        if (l === null) return -EMFILE
        if (!(backlog >= 1)) backlog = 1
        if (backlog > this.backlogMax) backlog = this.backlogMax
        l.open(port, backlog, abortOnOverflow)
        return this.tables.listenerHandle(l)
    }

    /** The next established connection of a listener: a connection handle, or -EAGAIN / -EBADF. */
    accept(lh: number): number {
        const l = this.tables.listener(lh)
        if (l === null) return -EBADF
        const i = l.pop()
        if (i < 0) return -EAGAIN
        const c = this.conns[i]
        c.listenerIndex = -1
        c.userHeld = true
        this.counters.connectionsAccepted++
        return this.tables.handleOf(c)
    }

    /** Stops listening: half-open requests are dropped, unaccepted connections reset. */
    closeListener(lh: number, now: number): number {
        const l = this.tables.listener(lh)
        if (l === null) return -EBADF
        for (let n = l.acceptQueueLength(); n > 0; n--) {
            const c = this.conns[l.pop()]
            c.listenerIndex = -1
            userAbort(this.shared, c, now)
            this.tables.reap(c)
        }
        this.passive.dropListener(l)
        l.close()
        return 0
    }

    acceptable(lh: number): boolean {
        const l = this.tables.listener(lh)
        return l !== null && l.acceptQueueLength() > 0
    }

    // ================================================================== API: connections

    /**
     * Active open to dstIp:dstPort from an ephemeral port (or localPort if given).
     * Returns a connection handle (SYN-SENT; writable() turns true once established) or
     * -EINVAL (bad port; 0, broadcast or multicast address), -EADDRNOTAVAIL (no address, our
     * own address, no free port), -EADDRINUSE, -EMFILE (table full).
     */
    connect(dstIp: number, dstPort: number, now: number, localPort?: number): number {
        dstIp = dstIp >>> 0
        // RFC 1122 §4.2.3.10: an OPEN to a broadcast or multicast address is an error (this
        // also refuses 0.0.0.0, class E and 127/8); to ourselves there is no route (no loopback).
        if (dstIp === 0 || ipv4IsNotHost(dstIp) || dstIp === this.port.subnetBroadcast ||
            !(dstPort > 0 && dstPort <= 65535)) return -EINVAL
        if (this.port.ip === 0 || dstIp === this.port.ip) return -EADDRNOTAVAIL
        let lport = localPort ? localPort : 0
        if (lport !== 0) {
            if (!(lport > 0 && lport <= 65535)) return -EINVAL
            if (!this.tables.tupleFree(lport, dstIp, dstPort)) return -EADDRINUSE
        }
        const c = this.tables.allocSlot()
        if (c === null) return -EMFILE
        if (lport === 0) {
            lport = this.ports.pick(this.tables, this.port.ip, dstIp, dstPort)
            if (lport < 0) return -EADDRNOTAVAIL
        }
        c.inUse = true
        c.userHeld = true
        c.localIp = this.port.ip
        c.localPort = lport
        c.remoteIp = dstIp
        c.remotePort = dstPort
        openActive(this.shared, c, this.shared.isn.isn(c.localIp, lport, dstIp, dstPort, now), now)
        this.flushEvents()
        return this.tables.handleOf(c)
    }

    /** Queues data: bytes taken (0 = send buffer full, try later) or -EPIPE/-ENOTCONN/-EINVAL/-error. */
    send(h: number, buf: Buffer, off: number, len: number, now: number): number {
        const c = this.tables.conn(h)
        if (c === null) return -EBADF
        if (!inBounds(buf, off, len)) return -EINVAL
        const n = userSend(this.shared, c, buf, off, len, now)
        this.flushEvents()
        return n
    }

    /** Reads data: bytes read, 0 = nothing yet, RECV_EOF (-1) after the peer's FIN, -EINVAL, or -error. */
    recv(h: number, buf: Buffer, off: number, len: number, now: number): number {
        const c = this.tables.conn(h)
        if (c === null) return -EBADF
        if (!inBounds(buf, off, len)) return -EINVAL
        const n = userRecv(this.shared, c, buf, off, len, now)
        this.flushEvents()
        return n
    }

    /** Closes the send side (FIN after queued data); reading continues. 0 or -error. */
    shutdown(h: number, now: number): number {
        const c = this.tables.conn(h)
        if (c === null) return -EBADF
        const r = userShutdown(this.shared, c, now)
        this.flushEvents()
        return r
    }

    /**
     * Releases the handle. The connection closes gracefully in the background (FIN,
     * TIME-WAIT), or is reset if unread data remains or abort-on-close is set.
     */
    close(h: number, now: number): number {
        const c = this.tables.conn(h)
        if (c === null) return -EBADF
        userClose(this.shared, c, now)
        this.tables.reap(c)
        this.flushEvents()
        return 0
    }

    /** Resets the connection (RST) and releases the handle. */
    abort(h: number, now: number): number {
        const c = this.tables.conn(h)
        if (c === null) return -EBADF
        c.userHeld = false
        userAbort(this.shared, c, now)
        this.tables.reap(c)
        this.flushEvents()
        return 0
    }

    /** TcpState of the connection, or -EBADF. */
    state(h: number): number {
        const c = this.tables.conn(h)
        return c === null ? -EBADF : c.state
    }

    /** Pending error code (ECONNRESET, ...), 0 = none, or -EBADF. */
    error(h: number): number {
        const c = this.tables.conn(h)
        return c === null ? -EBADF : c.error
    }

    readable(h: number): boolean {
        const c = this.tables.conn(h)
        return c !== null && isReadable(c)
    }

    writable(h: number): boolean {
        const c = this.tables.conn(h)
        return c !== null && isWritable(c)
    }

    hasError(h: number): boolean {
        const c = this.tables.conn(h)
        return c !== null && c.error !== 0
    }

    /** Unread bytes waiting in the receive ring. */
    bytesReadable(h: number): number {
        const c = this.tables.conn(h)
        return c === null ? -EBADF : c.recvRing.count
    }

    /** Free space in the send ring. */
    sendSpace(h: number): number {
        const c = this.tables.conn(h)
        return c === null ? -EBADF : c.sendRing.free()
    }

    /** Nagle off (true) or on (false). */
    setNoDelay(h: number, on: boolean, now: number): number {
        const c = this.tables.conn(h)
        if (c === null) return -EBADF
        c.noDelay = on
        if (on) {
            tcpOutput(this.shared, c, now) // what Nagle held back goes now
            this.flushEvents()
        }
        return 0
    }

    /** Keepalive on/off; idle, interval and count of 0 keep the configured defaults. */
    setKeepalive(h: number, on: boolean, idleMs: number, intervalMs: number, count: number, now: number): number {
        const c = this.tables.conn(h)
        if (c === null) return -EBADF
        if (idleMs > 0) c.keepIdleMs = idleMs
        if (intervalMs > 0) c.keepIntervalMs = intervalMs
        if (count > 0) c.keepCount = count
        c.keepalive = on
        c.keepAt = on ? now + c.keepIdleMs : TIME_NEVER
        return 0
    }

    /** Linger with zero timeout: close() resets the connection instead of a FIN exchange. */
    setAbortOnClose(h: number, on: boolean): number {
        const c = this.tables.conn(h)
        if (c === null) return -EBADF
        c.abortOnClose = on
        return 0
    }

    /**
     * SO_RCVBUF: offer the peer at most `bytes` of the receive ring (1..ring size; the ring
     * itself is fixed at start-up). Takes effect as the window moves; it never shrinks an
     * offered window (RFC 9293 §3.8.6.2.2).
     */
    setRecvLimit(h: number, bytes: number): number {
        const c = this.tables.conn(h)
        if (c === null) return -EBADF
        if (!(bytes >= 1 && bytes <= c.recvRing.capacity)) return -EINVAL
        c.recvLimit = bytes === c.recvRing.capacity ? 0 : bytes
        return 0
    }

    // ================================================================== API: listing and statistics

    /** Rows of the socket table: connections, then listeners, then half-open requests. */
    socketTableSize(): number {
        return this.conns.length + this.listeners.length + this.requests.entries.length
    }

    /** Fills out with row i; returns false (kind FREE) for an unused row. */
    socketTableRow(i: number, out: TcpSocketInfo): boolean {
        clearRow(out)
        const nc = this.conns.length
        const nl = this.listeners.length
        if (i < nc) {
            const c = this.conns[i]
            if (!c.inUse) return false
            connectionRow(c, c.userHeld ? this.tables.handleOf(c) : -1, out)
            return true
        }
        if (i < nc + nl) {
            const l = this.listeners[i - nc]
            if (!l.inUse) return false
            listenerRow(l, this.tables.listenerHandle(l), this.port.ip, out)
            return true
        }
        const r = this.requests.entries[i - nc - nl]
        if (r === undefined || r.listener < 0) return false
        requestRow(r, out)
        return true
    }

    /** Fills out with a connection's address and queue sizes (getsockname/getpeername). */
    info(h: number, out: TcpSocketInfo): boolean {
        const c = this.tables.conn(h)
        if (c === null) return false
        return this.socketTableRow(c.index, out)
    }

    /** Per-connection statistics. */
    stats(h: number, out: TcpConnStats): boolean {
        const c = this.tables.conn(h)
        if (c === null) return false
        connectionStats(c, out)
        return true
    }
}
