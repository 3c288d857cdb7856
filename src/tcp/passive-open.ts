// Passive opens with the Linux backlog model: LISTEN (RFC 9293 §3.10.7.2), half-open
// requests in the SYN queue (SYN-ACK retransmitted with back-off, expiring), SYN cookies
// when a listener's SYN queue is full, and promotion of a completed handshake to a
// connection slot in the listener's accept queue — or, when that queue is full, a drop
// (the client retries) or a RST with abortOnOverflow.

import { StackConfig } from "../config"
import { TcpRepr, TCP_ACK, TCP_RST, TCP_SYN } from "../wire/tcp"
import { Connection } from "./connection"
import { TCP_EV_ACCEPTABLE } from "./events"
import { Listener } from "./listener"
import { seqAdd, seqGt, seqInRange } from "./seq"
import { MAX_WINDOW, OUR_WS_SHIFT, TcpShared } from "./shared"
import { TcpState } from "./state"
import { COOKIE_PERIOD_MS, SynCookies } from "./syn-cookies"
import { SynQueue, SynRequest } from "./syn-queue"
import { TcpTables } from "./tables"
import { tcpInput } from "./tcp-input"
import { openPassive } from "./tcp-user"

/** @devsWhenUsed */
export class PassiveOpen {
    readonly requests: SynQueue
    private sh: TcpShared
    private tables: TcpTables
    private cookies: SynCookies
    private cookiesEnabled: boolean
    /** ISN lower bound for a SYN that reuses a TIME-WAIT 4-tuple (RFC 6191); -1 = none. */
    private isnFloor = -1
    /** Scratch request describing a connection completed by a SYN cookie (made once). */
    private cookieReq: SynRequest = new SynRequest()

    constructor(sh: TcpShared, tables: TcpTables, config: StackConfig) {
        this.sh = sh
        this.tables = tables
        this.requests = new SynQueue(config.tcpSynQueue)
        this.cookies = new SynCookies(config.tcpSecretSeed, config.tcpSecretSeed2)
        this.cookiesEnabled = config.tcpSynCookies
    }

    /** The next segment's new connection must start above `floor` (set before listenInput). */
    setIsnFloor(floor: number): void {
        this.isnFloor = floor
    }

    /** A segment for a listening port with no connection or request (LISTEN). */
    listenInput(l: Listener, seg: TcpRepr, buf: Buffer, remoteIp: number, now: number): void {
        const k = this.sh.counters
        const floor = this.isnFloor
        this.isnFloor = -1
        if (seg.flags & TCP_RST) return
        if (seg.flags & TCP_ACK) {
            // Either the ACK completing a SYN-cookie handshake, or a bad ACK: reset it. Cookies
            // are only taken while one sent can still be valid (two periods after the SYN
            // queue last overflowed): otherwise a blind attacker could guess at the 25-bit
            // MAC on any listening port at any time (RFC 4987 §3.6; Linux
            // tcp_synq_no_recent_overflow).
            if (!(seg.flags & TCP_SYN) && this.cookiesEnabled && now - l.cookieAt <= 2 * COOKIE_PERIOD_MS &&
                this.cookieAck(l, seg, buf, remoteIp, now)) return
            k.rxNoConnection++
            this.sh.sendResetFor(seg, remoteIp, now)
            return
        }
        if (!(seg.flags & TCP_SYN)) return
        k.synReceived++
        l.synReceived++
        // Like Linux: with the accept queue full a SYN is dropped; the client retries.
        if (l.acceptQueueFull()) {
            l.synDropped++
            k.listenDrops++
            return
        }
        if (l.synCount < l.backlog) {
            const r = this.requests.alloc()
            if (r !== null) {
                r.listener = l.index
                r.localIp = this.sh.port.ip
                r.localPort = seg.dstPort
                r.remoteIp = remoteIp
                r.remotePort = seg.srcPort
                r.irs = seg.seq
                r.peerMss = seg.mss
                r.peerWs = seg.windowScale
                r.iss = this.sh.isn.isn(r.localIp, r.localPort, remoteIp, r.remotePort, now)
                if (floor >= 0 && !seqGt(r.iss, floor)) r.iss = floor
                r.retries = 0
                r.sentAt = now
                r.nextAt = now + this.sh.rtoInitial
                l.synCount++
                r.owed = !this.sendSynAck(r, now)
                return
            }
        }
        k.synQueueFull++
        if (!this.cookiesEnabled) {
            l.synDropped++
            k.listenDrops++
            return
        }
        const cookie = this.cookies.make(this.sh.port.ip, seg.dstPort, remoteIp, seg.srcPort, seg.seq, seg.mss, now)
        k.synCookiesSent++
        l.cookiesSent++
        l.cookieAt = now
        // A cookie cannot carry the peer's window scale: this SYN-ACK offers none, so
        // neither side scales (RFC 7323 §2.2).
        this.emitSynAck(seg.dstPort, remoteIp, seg.srcPort, cookie, seqAdd(seg.seq, 1), -1, now)
    }

    /** (Re)sends the SYN-ACK of a request in the SYN queue. */
    private sendSynAck(r: SynRequest, now: number): boolean {
        return this.emitSynAck(r.localPort, r.remoteIp, r.remotePort, r.iss, seqAdd(r.irs, 1), r.peerWs, now)
    }

    /** A SYN-ACK with our MSS, and a window-scale option when the SYN had one (peerWs >= 0). */
    private emitSynAck(localPort: number, remoteIp: number, remotePort: number, iss: number, ack: number, peerWs: number, now: number): boolean {
        const sh = this.sh
        let win = sh.recvBuffer
        if (win > MAX_WINDOW) win = MAX_WINDOW
        sh.prepare(localPort, remotePort, iss, ack, TCP_SYN | TCP_ACK, win)
        sh.tx.mss = sh.ourMss
        if (peerWs >= 0) sh.tx.windowScale = OUR_WS_SHIFT
        return sh.transmit(remoteIp, null, 0, 0, now)
    }

    /** A segment for a half-open request (passive SYN-RECEIVED). */
    requestInput(r: SynRequest, seg: TcpRepr, buf: Buffer, remoteIp: number, now: number): void {
        const l = this.tables.listeners[r.listener]
        const rcvNxt = seqAdd(r.irs, 1)
        if (seg.flags & TCP_RST) {
            // RFC 9293: back to LISTEN; RFC 5961: only a RST exactly at RCV.NXT counts.
            if (seg.seq === rcvNxt) {
                this.sh.counters.rstReceived++
                this.dropRequest(r)
            }
            return
        }
        if (seg.flags & TCP_SYN) {
            // The peer did not get our SYN-ACK: send it again.
            if (!(seg.flags & TCP_ACK) && seg.seq === r.irs) this.sendSynAck(r, now)
            return
        }
        if (!(seg.flags & TCP_ACK)) return
        if (seg.ack !== seqAdd(r.iss, 1)) {
            this.sh.sendResetFor(seg, remoteIp, now)
            return
        }
        if (!seqInRange(seg.seq, rcvNxt, seqAdd(rcvNxt, MAX_WINDOW))) return
        const c = this.promote(l, seg, remoteIp, r, now)
        if (c === null) {
            if (l.abortOnOverflow) this.dropRequest(r)
            return
        }
        if (r.retries === 0) {
            // The SYN-ACK was not retransmitted: its round trip is an RTT sample (Karn).
            c.startRttTiming(seqAdd(r.iss, 1), r.sentAt)
        }
        this.dropRequest(r)
        this.complete(l, c, seg, buf, now)
    }

    private dropRequest(r: SynRequest): void {
        const l = this.tables.listeners[r.listener]
        if (l.synCount > 0) l.synCount--
        this.requests.free(r)
    }

    /** The ACK of a SYN-cookie SYN-ACK: valid → a connection straight into the accept queue. */
    private cookieAck(l: Listener, seg: TcpRepr, buf: Buffer, remoteIp: number, now: number): boolean {
        const k = this.sh.counters
        const iss = seqAdd(seg.ack, -1)
        const irs = seqAdd(seg.seq, -1)
        const mss = this.cookies.check(this.sh.port.ip, seg.dstPort, remoteIp, seg.srcPort, irs, iss, now)
        if (mss === 0) {
            k.synCookiesRejected++
            return false
        }
        k.synCookiesAccepted++
        // The cookie stands in for a SYN-queue record: fill the scratch one (no window scale).
        const r = this.cookieReq
        r.iss = iss
        r.irs = irs
        r.peerMss = mss
        r.peerWs = -1
        const c = this.promote(l, seg, remoteIp, r, now)
        if (c !== null) this.complete(l, c, seg, buf, now)
        return true // on overflow: dropped, or reset when abortOnOverflow
    }

    /**
     * Takes a connection slot for a completed passive open, if the accept queue has room.
     * On overflow: drop (the client's retransmission retries) or RST with abortOnOverflow.
     */
    private promote(l: Listener, seg: TcpRepr, remoteIp: number, r: SynRequest, now: number): Connection {
        const full = l.acceptQueueFull()
        const c = full ? null : this.tables.allocSlot()
        if (c === null) {
            l.acceptOverflows++
            // A full accept queue, or every connection slot in use: two causes, two counters.
            const k = this.sh.counters
            if (full) k.acceptQueueOverflows++
            else k.noFreeSlot++
            if (l.abortOnOverflow) this.sh.sendResetFor(seg, remoteIp, now)
            return null
        }
        c.inUse = true
        c.localIp = this.sh.port.ip
        c.localPort = seg.dstPort
        c.remoteIp = remoteIp
        c.remotePort = seg.srcPort
        openPassive(this.sh, c, r.iss, r.irs, r.peerMss, r.peerWs, now)
        return c
    }

    /** Runs the completing segment through the new connection and queues it for accept(). */
    private complete(l: Listener, c: Connection, seg: TcpRepr, buf: Buffer, now: number): void {
        tcpInput(this.sh, c, seg, buf, now)
        if (c.state === TcpState.Closed) {
            this.tables.reap(c)
            return
        }
        c.listenerIndex = l.index
        l.push(c.index)
        l.pendingEvents |= TCP_EV_ACCEPTABLE
    }

    /**
     * SYN-ACK retransmissions (1 s, 2 s, 4 s ...) and expiry of half-open requests; with
     * retry (output is waiting for frames), SYN-ACKs that found none are sent again first.
     */
    poll(now: number, retry: boolean): void {
        const sh = this.sh
        const reqs = this.requests.entries
        for (let i = 0; i < reqs.length; i++) {
            const r = reqs[i]
            if (r.listener < 0) continue
            // A SYN-ACK that found no frame goes first when poll() retries output (a
            // client that sends one SYN, as passt does, would otherwise never connect).
            if (retry && r.owed) {
                r.owed = !this.sendSynAck(r, now)
                continue
            }
            if (r.nextAt > now) continue
            // Out of tries, or our address changed since (DHCP): never answer from an old one.
            if (r.retries >= sh.synAckRetries || r.localIp !== sh.port.ip) {
                sh.counters.synRequestsExpired++
                this.dropRequest(r)
                continue
            }
            r.retries++
            sh.counters.synAckRetransmits++
            r.owed = !this.sendSynAck(r, now)
            let t = sh.rtoInitial
            for (let j = 0; j < r.retries && t < sh.rtoMax; j++) t *= 2
            r.nextAt = now + (t < sh.rtoMax ? t : sh.rtoMax)
        }
    }

    /** The earliest request deadline, or `t` if none is earlier. */
    nextDeadline(t: number): number {
        const reqs = this.requests.entries
        for (let i = 0; i < reqs.length; i++) if (reqs[i].listener >= 0 && reqs[i].nextAt < t) t = reqs[i].nextAt
        return t
    }

    /** Forgets every half-open request of a listener that is closing. */
    dropListener(l: Listener): void {
        const reqs = this.requests.entries
        for (let i = 0; i < reqs.length; i++) if (reqs[i].listener === l.index) this.requests.free(reqs[i])
    }
}
