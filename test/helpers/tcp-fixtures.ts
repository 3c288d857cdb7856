// Test fixtures for the TCP layer, in the style of smoltcp's socket tests: a fake IP
// layer that records every segment the layer sends, segment templates to build what the
// peer sends, and fixtures that bring a connection into a given state through real
// transitions, so each test sends one segment and checks the exact answer and state.

import { mulberry32 } from "../../sim/enc28j60/prng"
import { makeConfig, StackConfig } from "../../src/config"
import { TcpLayer } from "../../src/tcp/tcp-layer"
import { TcpIpPort, TcpTxFrame } from "../../src/tcp/ip-port"
import { TcpState, stateName } from "../../src/tcp/state"
import {
    emitTcp, fillTcpChecksum, parseTcp, TcpRepr, tcpHeaderLen,
    TCP_ACK, TCP_FIN, TCP_OK, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG,
} from "../../src/wire/tcp"

export const LOCAL_IP = 0x0a00020f // 10.0.2.15
export const REMOTE_IP = 0x0a000202 // 10.0.2.2
export const LOCAL_PORT = 80
export const REMOTE_PORT = 49500
export const REMOTE_ISS = 0xffffe000 // 8 KiB before the wrap: sequence numbers wrap during the tests
const IPV4_PAYLOAD_OFFSET = 34

/** Flags from letters: S SYN, A ACK, F FIN, R RST, P PSH, U URG. */
export function flagBits(s: string): number {
    let f = 0
    for (const ch of s) {
        if (ch === "S") f |= TCP_SYN
        else if (ch === "A") f |= TCP_ACK
        else if (ch === "F") f |= TCP_FIN
        else if (ch === "R") f |= TCP_RST
        else if (ch === "P") f |= TCP_PSH
        else if (ch === "U") f |= TCP_URG
        else throw new Error("bad flag " + ch)
    }
    return f
}

/** Letters for flags, in a fixed order (SRFPA...). */
export function flagLetters(f: number): string {
    let s = ""
    if (f & TCP_SYN) s += "S"
    if (f & TCP_RST) s += "R"
    if (f & TCP_FIN) s += "F"
    if (f & TCP_PSH) s += "P"
    if (f & TCP_ACK) s += "A"
    if (f & TCP_URG) s += "U"
    return s
}

/** A segment as the tests see it: flags as letters, payload as a Buffer. */
export interface Seg {
    flags: string
    seq: number
    ack: number
    win: number
    mss: number
    payload: Buffer
    srcPort: number
    dstPort: number
    dst: number
}

/** What the peer sends; omitted fields take the template's values. */
export interface SegSpec {
    flags?: string
    seq?: number
    ack?: number
    win?: number
    mss?: number
    payload?: Buffer | string
    srcPort?: number
    dstPort?: number
}

export function u32(n: number): number {
    return n >>> 0
}

/** Builds a checksummed TCP segment (no IP header) from a spec. */
export function buildSegment(s: SegSpec, srcIp: number, dstIp: number): Buffer {
    const r = new TcpRepr()
    r.srcPort = s.srcPort ?? REMOTE_PORT
    r.dstPort = s.dstPort ?? LOCAL_PORT
    r.seq = u32(s.seq ?? 0)
    r.ack = u32(s.ack ?? 0)
    r.flags = flagBits(s.flags ?? "A")
    r.window = s.win ?? 4096
    r.mss = s.mss ?? 0
    const p = typeof s.payload === "string" ? Buffer.from(s.payload) : (s.payload ?? Buffer.alloc(0))
    const hlen = tcpHeaderLen(r)
    const buf = Buffer.alloc(hlen + p.length)
    emitTcp(r, buf, 0)
    p.copy(buf, hlen)
    fillTcpChecksum(buf, 0, buf.length, srcIp, dstIp)
    return buf
}

/** Parses a segment (must be valid, checksum included). */
export function readSegment(buf: Buffer, off: number, len: number, srcIp: number, dstIp: number, dst: number): Seg {
    const r = new TcpRepr()
    const res = parseTcp(buf, off, len, srcIp, dstIp, r, true)
    if (res !== TCP_OK) throw new Error("layer sent a malformed segment: " + res)
    return {
        flags: flagLetters(r.flags),
        seq: r.seq,
        ack: r.ack,
        win: r.window,
        mss: r.mss,
        payload: Buffer.from(buf.subarray(r.payloadOff, r.payloadOff + r.payloadLen)),
        srcPort: r.srcPort,
        dstPort: r.dstPort,
        dst,
    }
}

class FakeFrame implements TcpTxFrame {
    buf = Buffer.alloc(1514)
    len = 0
    busy = false
}

/** The IP layer below TCP: records segments; can run out of frames on demand. */
export class FakeIp implements TcpIpPort {
    ip: number
    mtu = 1500
    handler: any = null
    sent: Seg[] = []
    /** Raw copies of sent segments: [dst, bytes] (for the wire tests). */
    raw: { dst: number; bytes: Buffer }[] = []
    keepRaw = false
    /** When false, allocIpv4Frame() returns null (a full transmit pool). */
    framesAvailable = true
    private frames: FakeFrame[] = []

    constructor(ip: number) {
        this.ip = ip
        for (let i = 0; i < 4; i++) this.frames.push(new FakeFrame())
    }

    allocIpv4Frame(): TcpTxFrame {
        if (!this.framesAvailable) return null
        for (const f of this.frames) {
            if (!f.busy) {
                f.busy = true
                return f
            }
        }
        return null
    }

    releaseFrame(frame: TcpTxFrame): void {
        ;(frame as FakeFrame).busy = false
    }

    sendIpv4(frame: TcpTxFrame, dst: number, protocol: number, payloadLen: number, now: number): boolean {
        const f = frame as FakeFrame
        f.busy = false
        if (protocol !== 6) throw new Error("not TCP")
        if (this.keepRaw) {
            this.raw.push({ dst, bytes: Buffer.from(f.buf.subarray(IPV4_PAYLOAD_OFFSET, IPV4_PAYLOAD_OFFSET + payloadLen)) })
        } else {
            this.sent.push(readSegment(f.buf, IPV4_PAYLOAD_OFFSET, payloadLen, this.ip, dst, dst))
        }
        return true
    }

    registerIpv4Handler(protocol: number, handler: any): boolean {
        this.handler = handler
        return true
    }
}

export function testConfig(over?: any): StackConfig {
    const base: any = {
        tcpSecretSeed: 12345,
        tcpConnections: 4,
        tcpSendBuffer: 4096,
        tcpRecvBuffer: 4096,
        tcpMss: 0,
        mtu: 1500,
    }
    if (over) for (const k of Object.keys(over)) base[k] = over[k]
    return makeConfig(base)
}

/** A TcpLayer on a FakeIp, a clock, and helpers to play the remote peer. */
export class Harness {
    ip: FakeIp
    layer: TcpLayer
    now = 1000
    config: StackConfig
    events: { handle: number; events: number }[] = []

    constructor(over?: any) {
        this.config = testConfig(over)
        this.ip = new FakeIp(LOCAL_IP)
        this.layer = new TcpLayer(this.ip, this.config)
        this.layer.onEvent = (h, e) => {
            this.events.push({ handle: h, events: e })
        }
    }

    /** Delivers a segment from the peer (REMOTE_IP:REMOTE_PORT unless overridden). */
    send(spec: SegSpec, srcIp = REMOTE_IP): void {
        const b = buildSegment(spec, srcIp, LOCAL_IP)
        // Put it at an odd offset inside a bigger buffer, as a frame would.
        const frame = Buffer.alloc(b.length + 40)
        b.copy(frame, 34)
        this.layer.ipv4Input(this.ip, frame, 34, b.length, srcIp, LOCAL_IP, this.now)
    }

    /** Everything the layer sent since the last call. */
    take(): Seg[] {
        const s = this.ip.sent
        this.ip.sent = []
        return s
    }

    /** Exactly one segment was sent; returns it. */
    one(): Seg {
        const s = this.take()
        if (s.length !== 1) throw new Error("expected one segment, got " + s.length + ": " + describe(s))
        return s[0]
    }

    /** Nothing was sent. */
    none(): void {
        const s = this.take()
        if (s.length !== 0) throw new Error("expected no segment, got " + describe(s))
    }

    /** Moves the clock and runs timers. */
    advance(ms: number): void {
        this.now += ms
        this.layer.poll(this.now)
    }

    /** Runs timers up to `ms` later, stepping to each deadline. */
    runFor(ms: number): void {
        const end = this.now + ms
        for (let i = 0; i < 100000; i++) {
            const t = this.layer.pollAt()
            if (t > end) break
            this.now = t > this.now ? t : this.now
            this.layer.poll(this.now)
        }
        this.now = end
        this.layer.poll(this.now)
    }

    stateOf(h: number): string {
        return stateName(this.layer.state(h))
    }

    read(h: number, max = 65536): Buffer {
        const b = Buffer.alloc(max)
        const n = this.layer.recv(h, b, 0, max, this.now)
        return n > 0 ? b.subarray(0, n) : Buffer.alloc(0)
    }

    write(h: number, data: Buffer | string): number {
        const b = typeof data === "string" ? Buffer.from(data) : data
        return this.layer.send(h, b, 0, b.length, this.now)
    }
}

export function describe(s: Seg[]): string {
    return s.map((x) => `${x.flags} seq=${x.seq} ack=${x.ack} win=${x.win} len=${x.payload.length}`).join("; ")
}

// ------------------------------------------------------------------ state fixtures

/** A connection the layer opened (SYN-SENT); `iss` is from the SYN it sent. */
export interface Fixture {
    h: Harness
    id: number
    /** Our initial sequence number; the peer's is REMOTE_ISS. */
    iss: number
    /** Our next sequence number / the peer's, after the fixture's exchange. */
    snd: number
    rcv: number
    localPort: number
}

export function synSent(over?: any): Fixture {
    const h = new Harness(over)
    const id = h.layer.connect(REMOTE_IP, REMOTE_PORT, h.now)
    if (id < 0) throw new Error("connect failed " + id)
    const syn = h.one()
    if (syn.flags !== "S") throw new Error("expected SYN, got " + syn.flags)
    return { h, id, iss: syn.seq, snd: u32(syn.seq + 1), rcv: 0, localPort: syn.srcPort }
}

/** Segment spec addressed to the fixture's local port. */
export function to(f: Fixture, spec: SegSpec): SegSpec {
    return { dstPort: f.localPort, ...spec }
}

export function established(over?: any, peerWin = 4096, peerMss = 1460): Fixture {
    const f = synSent(over)
    f.h.send(to(f, { flags: "SA", seq: REMOTE_ISS, ack: f.snd, win: peerWin, mss: peerMss }))
    const ack = f.h.one()
    if (ack.flags !== "A") throw new Error("expected ACK, got " + ack.flags)
    f.rcv = REMOTE_ISS + 1
    return f
}

/** Active simultaneous open: our SYN crossed the peer's SYN. */
export function synReceived(over?: any): Fixture {
    const f = synSent(over)
    f.h.send(to(f, { flags: "S", seq: REMOTE_ISS, win: 4096, mss: 1460 }))
    const synack = f.h.one()
    if (synack.flags !== "SA") throw new Error("expected SYN-ACK, got " + synack.flags)
    f.rcv = REMOTE_ISS + 1
    return f
}

export function finWait1(over?: any): Fixture {
    const f = established(over)
    f.h.layer.shutdown(f.id, f.h.now)
    const fin = f.h.one()
    if (fin.flags !== "FA") throw new Error("expected FIN, got " + fin.flags)
    f.snd = u32(f.snd + 1)
    return f
}

export function finWait2(over?: any): Fixture {
    const f = finWait1(over)
    f.h.send(to(f, { flags: "A", seq: f.rcv, ack: f.snd }))
    f.h.none()
    return f
}

export function closeWait(over?: any): Fixture {
    const f = established(over)
    f.h.send(to(f, { flags: "FA", seq: f.rcv, ack: f.snd }))
    const ack = f.h.one()
    if (ack.flags !== "A") throw new Error("expected ACK of FIN, got " + ack.flags)
    f.rcv = u32(f.rcv + 1)
    return f
}

export function lastAck(over?: any): Fixture {
    const f = closeWait(over)
    f.h.layer.shutdown(f.id, f.h.now)
    const fin = f.h.one()
    if (fin.flags !== "FA") throw new Error("expected FIN, got " + fin.flags)
    f.snd = u32(f.snd + 1)
    return f
}

/** Simultaneous close: our FIN is out, the peer's FIN arrives without acknowledging it. */
export function closing(over?: any): Fixture {
    const f = finWait1(over)
    f.h.send(to(f, { flags: "FA", seq: f.rcv, ack: u32(f.snd - 1) }))
    const ack = f.h.one()
    if (ack.flags !== "A") throw new Error("expected ACK, got " + ack.flags)
    f.rcv = u32(f.rcv + 1)
    return f
}

export function timeWait(over?: any): Fixture {
    const f = finWait2(over)
    f.h.send(to(f, { flags: "FA", seq: f.rcv, ack: f.snd }))
    const ack = f.h.one()
    if (ack.flags !== "A") throw new Error("expected ACK, got " + ack.flags)
    f.rcv = u32(f.rcv + 1)
    return f
}

/** A listener on LOCAL_PORT. */
export function listening(over?: any, backlog = 4, abortOnOverflow = false): { h: Harness; lid: number } {
    const h = new Harness(over)
    const lid = h.layer.listen(LOCAL_PORT, backlog, abortOnOverflow)
    if (lid < 0) throw new Error("listen failed " + lid)
    return { h, lid }
}

export { TcpState }

// ------------------------------------------------------------------ two layers on a fake wire

/** Deterministic PRNG (mulberry32) for loss and reordering. */
export const rng = mulberry32

export interface WireOptions {
    /** One-way delay, ms. */
    delayMs?: number
    /** Extra random delay (reordering), ms. */
    jitterMs?: number
    /** Probability that a segment is lost. */
    loss?: number
    /** Probability that a segment is delivered twice. */
    dup?: number
    seed?: number
}

export class Peer {
    ip: FakeIp
    layer: TcpLayer
    constructor(addr: number, over?: any) {
        this.ip = new FakeIp(addr)
        this.ip.keepRaw = true
        this.layer = new TcpLayer(this.ip, testConfig(over))
    }
}

/** Two TcpLayers joined by a wire with delay, jitter and seeded loss; time is simulated. */
export class Wire {
    a: Peer
    b: Peer
    now = 1000
    delivered = 0
    dropped = 0
    private q: { at: number; to: Peer; from: number; bytes: Buffer }[] = []
    private rand: () => number
    private o: WireOptions

    constructor(a: Peer, b: Peer, o: WireOptions = {}) {
        this.a = a
        this.b = b
        this.o = o
        this.rand = rng(o.seed ?? 1)
    }

    /** Moves whatever the layers sent onto the wire. */
    collect(): void {
        for (const [from, to] of [[this.a, this.b], [this.b, this.a]] as [Peer, Peer][]) {
            for (const r of from.ip.raw) {
                if (this.o.loss && this.rand() < this.o.loss) {
                    this.dropped++
                    continue
                }
                const at = this.now + (this.o.delayMs ?? 1) + (this.o.jitterMs ? this.rand() * this.o.jitterMs : 0)
                this.q.push({ at, to, from: from.ip.ip, bytes: r.bytes })
                if (this.o.dup && this.rand() < this.o.dup) this.q.push({ at: at + 1, to, from: from.ip.ip, bytes: r.bytes })
            }
            from.ip.raw = []
        }
    }

    /** Advances to the next event (delivery or timer) and processes it. False if none. */
    step(limit: number): boolean {
        this.collect()
        let next = Math.min(this.a.layer.pollAt(), this.b.layer.pollAt())
        for (const p of this.q) if (p.at < next) next = p.at
        if (next > limit) return false
        if (next > this.now) this.now = next
        const due = this.q.filter((p) => p.at <= this.now).sort((x, y) => x.at - y.at)
        this.q = this.q.filter((p) => p.at > this.now)
        for (const p of due) {
            this.delivered++
            p.to.layer.ipv4Input(p.to.ip, p.bytes, 0, p.bytes.length, p.from, p.to.ip.ip, this.now)
        }
        this.a.layer.poll(this.now)
        this.b.layer.poll(this.now)
        this.collect()
        return true
    }
}
