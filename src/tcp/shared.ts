// What every connection and the layer share: the IP port, settings derived from the
// config, counters, the scratch segment for output, the ISN generator and the RFC 5961
// challenge-ACK rate limiter. Segments are written straight into the interface's frame.

import { StackConfig } from "../config"
import { IPV4_PAYLOAD_OFFSET } from "../iface/interface"
import { RingBuffer } from "../storage/ring-buffer"
import { emitTcp, fillTcpChecksum, IPPROTO_TCP, TcpRepr, TCP_ACK, TCP_RST } from "../wire/tcp"
import { newTcpCounters, TcpCounters } from "./counters"
import { TcpIpPort } from "./ip-port"
import { IsnGenerator } from "./isn"
import { seqAdd } from "./seq"

/** IPv4 header (20) + TCP header (20), subtracted from the MTU to get the MSS. */
const IP_TCP_HEADERS = 40
/** Smallest send MSS we accept from a peer (Linux's tcp_min_snd_mss, against tiny-MSS abuse). */
export const MIN_SND_MSS = 64
/** MSS assumed when the peer sends no MSS option (RFC 9293 §3.7.1, MUST-15). */
export const DEFAULT_MSS = 536
export const MAX_WINDOW = 65535
/**
 * How soon output that found no free frame is retried. Frames the pump is sending come
 * back within its step (and a step that did work is followed by another at once); frames
 * held longer (waiting for ARP) must not make the pump spin on an immediate deadline.
 */
export const OUTPUT_RETRY_MS = 10
/** Largest window-scale shift (RFC 7323 §2.3: larger values are taken as 14). */
export const MAX_WS_SHIFT = 14
/** The shift we announce: our windows fit 16 bits, we only offer so that the peer may scale its own. */
export const OUR_WS_SHIFT = 0

/** The peer's shift from the window-scale option of its SYN (-1 = absent, then 0). */
export function peerWsShift(ws: number): number {
    if (ws < 0) return 0
    return ws > MAX_WS_SHIFT ? MAX_WS_SHIFT : ws
}

/** @devsWhenUsed */
export class TcpShared {
    port: TcpIpPort
    counters: TcpCounters
    isn: IsnGenerator
    /** Scratch description of the segment being sent. */
    tx: TcpRepr

    mtu: number
    /** MSS we announce. */
    ourMss: number
    sendBuffer: number
    recvBuffer: number
    rtoMin: number
    rtoMax: number
    rtoInitial: number
    maxRetries: number
    synRetries: number
    synAckRetries: number
    timeWaitMs: number
    finWait2Ms: number
    orphanMs: number
    delayedAckMs: number
    keepIdleMs: number
    keepIntervalMs: number
    keepCount: number
    challengeLimit: number

    /** Set when output had to stop for lack of a frame: poll() retries it (and all output after it). */
    outputBlocked = false
    retryAt: number

    private challengeWindowStart = -1e15
    private challengeCount = 0

    constructor(port: TcpIpPort, config: StackConfig) {
        this.port = port
        this.counters = newTcpCounters()
        this.isn = new IsnGenerator(config.tcpSecretSeed, config.tcpSecretSeed2)
        this.tx = new TcpRepr()
        this.mtu = config.mtu
        this.sendBuffer = config.tcpSendBuffer
        this.recvBuffer = config.tcpRecvBuffer
        let mss = config.tcpMss > 0 ? config.tcpMss : config.mtu - IP_TCP_HEADERS
        // Two full segments must fit the receive ring, or a peer waits on our delayed ACK.
        const half = config.tcpRecvBuffer >> 1
        if (config.tcpMss <= 0 && mss > half) mss = half
        if (mss > config.mtu - IP_TCP_HEADERS) mss = config.mtu - IP_TCP_HEADERS
        if (mss < MIN_SND_MSS) mss = MIN_SND_MSS
        this.ourMss = mss
        this.rtoMin = config.tcpRtoMinMs
        this.rtoMax = config.tcpRtoMaxMs
        this.rtoInitial = config.tcpRtoInitialMs
        this.maxRetries = config.tcpMaxRetries
        this.synRetries = config.tcpSynRetries
        this.synAckRetries = config.tcpSynAckRetries
        this.timeWaitMs = config.tcpTimeWaitMs
        this.finWait2Ms = config.tcpFinWait2Ms
        this.orphanMs = config.tcpOrphanTimeoutMs
        this.delayedAckMs = config.tcpDelayedAckMs
        this.keepIdleMs = config.tcpKeepIdleMs
        this.keepIntervalMs = config.tcpKeepIntervalMs
        this.keepCount = config.tcpKeepCount
        this.challengeLimit = config.tcpChallengeAckLimit
    }

    /**
     * Effective send MSS (RFC 9293 §3.7.1): the peer's MSS (536 without the option), our
     * MTU, and at most half our send ring so two segments can be in flight.
     */
    sendMss(peerMss: number): number {
        let m = peerMss > 0 ? peerMss : DEFAULT_MSS
        if (m > this.mtu - IP_TCP_HEADERS) m = this.mtu - IP_TCP_HEADERS
        const half = this.sendBuffer >> 1
        if (m > half) m = half
        if (m < MIN_SND_MSS) m = MIN_SND_MSS
        return m
    }

    /** RFC 5961 §7: challenge ACKs share one budget per second. True = may send one. */
    challengeAllowed(now: number): boolean {
        if (now - this.challengeWindowStart >= 1000) {
            this.challengeWindowStart = now
            this.challengeCount = 0
        }
        if (this.challengeCount >= this.challengeLimit) {
            this.counters.challengeAcksSuppressed++
            return false
        }
        this.challengeCount++
        this.counters.challengeAcks++
        return true
    }

    /**
     * Sends the segment described by `tx` to dstIp, with len payload bytes copied from
     * ring at ringOff. False when no frame was free (nothing sent; retry later).
     */
    transmit(dstIp: number, ring: RingBuffer, ringOff: number, len: number, now: number): boolean {
        // While output waits for a frame, later output queues behind it (refused here, retried
        // by poll() in turn): the pump handles received segments before poll(), so their
        // answers would otherwise take every frame freed, step after step, and starve it.
        const f = this.outputBlocked ? null : this.port.allocIpv4Frame()
        if (f === null) {
            this.counters.txNoFrame++
            if (!this.outputBlocked) this.retryAt = now + OUTPUT_RETRY_MS
            this.outputBlocked = true
            return false
        }
        const off = IPV4_PAYLOAD_OFFSET
        const hlen = emitTcp(this.tx, f.buf, off)
        if (len > 0) ring.peek(f.buf, off + hlen, ringOff, len)
        fillTcpChecksum(f.buf, off, hlen + len, this.port.ip, dstIp)
        this.counters.txSegments++
        this.port.sendIpv4(f, dstIp, IPPROTO_TCP, hlen + len, now)
        return true
    }

    /** Fills `tx` with ports, numbers, flags and window; no options. */
    prepare(srcPort: number, dstPort: number, seq: number, ack: number, flags: number, window: number): void {
        const t = this.tx
        t.clear()
        t.srcPort = srcPort
        t.dstPort = dstPort
        t.seq = seq
        t.ack = ack
        t.flags = flags
        t.window = window
    }

    /**
     * The reset answering a segment that has no connection (RFC 9293 §3.10.7.1):
     * <SEQ=SEG.ACK><CTL=RST> if it had ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
     * Never answers a RST.
     */
    sendResetFor(seg: TcpRepr, remoteIp: number, now: number): void {
        if (seg.flags & TCP_RST) return
        if (seg.flags & TCP_ACK) this.prepare(seg.dstPort, seg.srcPort, seg.ack, 0, TCP_RST, 0)
        else this.prepare(seg.dstPort, seg.srcPort, 0, seqAdd(seg.seq, seg.segLen()), TCP_RST | TCP_ACK, 0)
        if (this.transmit(remoteIp, null, 0, 0, now)) this.counters.rstSent++
    }
}
