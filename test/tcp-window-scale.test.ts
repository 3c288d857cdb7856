// Window-scale negotiation (RFC 7323 §2): we offer shift 0 in every SYN, answer a SYN's
// offer with shift 0 in the SYN-ACK, and scale the peer's windows by the shift it announced.
//
// Found by test/interop-passt.test.ts: passt (Debian 0.0~git20230309) announces shift 8 in its
// SYN and shifts every later window by 8 whether or not the SYN-ACK agreed (it sets its shift
// when it sends the SYN and never looks at the answer). Without negotiation the device read
// passt's 64 KiB window as 256 bytes and sent 256-byte segments. Negotiating makes passt's
// shift legitimate, and lets any peer scale its windows to us.
import { describe, expect, test } from "vitest"
import { Harness, LOCAL_IP, LOCAL_PORT, REMOTE_IP, REMOTE_ISS, REMOTE_PORT, u32 } from "./helpers/tcp-fixtures"
import { TcpConnStats } from "../src/tcp/info"
import { emitTcp, fillTcpChecksum, parseTcp, TcpRepr, tcpHeaderLen, TCP_ACK, TCP_OK, TCP_SYN } from "../src/wire/tcp"

interface RawSeg {
    flags: number
    seq: number
    ack: number
    window: number
    mss: number
    windowScale: number
    payloadLen: number
}

/** The segments the layer sent since the last call, parsed with their options. */
function sent(h: Harness): RawSeg[] {
    const out = h.ip.raw.map(({ dst, bytes }) => {
        const r = new TcpRepr()
        expect(parseTcp(bytes, 0, bytes.length, LOCAL_IP, dst, r, true)).toBe(TCP_OK)
        return { flags: r.flags, seq: r.seq, ack: r.ack, window: r.window, mss: r.mss, windowScale: r.windowScale, payloadLen: r.payloadLen }
    })
    h.ip.raw = []
    return out
}

interface PeerSeg {
    flags: number
    seq: number
    ack?: number
    window: number
    mss?: number
    windowScale?: number
    dstPort?: number
}

/** Delivers a segment from the peer, with the options given. */
function deliver(h: Harness, s: PeerSeg): void {
    const r = new TcpRepr()
    r.srcPort = REMOTE_PORT
    r.dstPort = s.dstPort ?? LOCAL_PORT
    r.seq = u32(s.seq)
    r.ack = u32(s.ack ?? 0)
    r.flags = s.flags
    r.window = s.window
    r.mss = s.mss ?? 0
    r.windowScale = s.windowScale ?? -1
    const buf = Buffer.alloc(tcpHeaderLen(r))
    emitTcp(r, buf, 0)
    fillTcpChecksum(buf, 0, buf.length, REMOTE_IP, LOCAL_IP)
    h.layer.ipv4Input(h.ip, buf, 0, buf.length, REMOTE_IP, LOCAL_IP, h.now)
}

function sndWnd(h: Harness, id: number): number {
    const st = new TcpConnStats()
    expect(h.layer.stats(id, st)).toBe(true)
    return st.sndWnd
}

/** An active open; the peer's SYN-ACK carries windowScale (-1 = no option) and window synWin. */
function activeOpen(peerWs: number, synWin = 1000) {
    const h = new Harness({ tcpSendBuffer: 8192 })
    h.ip.keepRaw = true
    const id = h.layer.connect(REMOTE_IP, REMOTE_PORT, h.now)
    const [syn] = sent(h)
    expect(syn.flags).toBe(TCP_SYN)
    const port = h.layer.conns[id & 0xff].localPort
    const snd = u32(syn.seq + 1)
    deliver(h, { flags: TCP_SYN | TCP_ACK, seq: REMOTE_ISS, ack: snd, window: synWin, mss: 1460, windowScale: peerWs, dstPort: port })
    sent(h) // our ACK
    return { h, id, syn, snd, rcv: u32(REMOTE_ISS + 1), port }
}

describe("window scale, active open", () => {
    test("our SYN offers shift 0 next to the MSS", () => {
        const { syn } = activeOpen(-1)
        expect(syn.windowScale).toBe(0)
        expect(syn.mss).toBeGreaterThan(0)
    })

    test("the peer's shift scales every window after the SYN-ACK's (which is never scaled)", () => {
        const { h, id, snd, rcv, port } = activeOpen(8, 1000)
        expect(sndWnd(h, id)).toBe(1000) // the SYN-ACK's own window is not scaled
        deliver(h, { flags: TCP_ACK, seq: rcv, ack: snd, window: 256, dstPort: port })
        expect(sndWnd(h, id)).toBe(256 << 8)
        // The data goes out in full-sized segments, not 256-byte pieces.
        h.layer.setNoDelay(id, true, h.now)
        expect(h.write(id, Buffer.alloc(4000, 1))).toBe(4000)
        const segs = sent(h)
        expect(segs.length).toBeGreaterThan(0)
        expect(segs[0].payloadLen).toBe(1460)
    })

    test("without the option in the SYN-ACK nothing is scaled", () => {
        const { h, id, snd, rcv, port } = activeOpen(-1)
        deliver(h, { flags: TCP_ACK, seq: rcv, ack: snd, window: 256, dstPort: port })
        expect(sndWnd(h, id)).toBe(256)
    })

    test("a shift above 14 counts as 14 (RFC 7323 §2.3)", () => {
        const { h, id, snd, rcv, port } = activeOpen(20)
        deliver(h, { flags: TCP_ACK, seq: rcv, ack: snd, window: 2, dstPort: port })
        expect(sndWnd(h, id)).toBe(2 << 14)
    })

    test("duplicate ACKs are recognised with a scaled window (fast retransmit)", () => {
        const { h, id, snd, rcv, port } = activeOpen(4)
        deliver(h, { flags: TCP_ACK, seq: rcv, ack: snd, window: 1000, dstPort: port })
        h.layer.setNoDelay(id, true, h.now)
        h.write(id, Buffer.alloc(5 * 1460, 2))
        const first = sent(h)
        expect(first.length).toBeGreaterThanOrEqual(2)
        for (let i = 0; i < 3; i++) deliver(h, { flags: TCP_ACK, seq: rcv, ack: snd, window: 1000, dstPort: port })
        const again = sent(h).filter((s) => s.seq === snd && s.payloadLen > 0)
        expect(again.length).toBe(1)
        const st = new TcpConnStats()
        h.layer.stats(id, st)
        expect(st.fastRetransmits).toBe(1)
    })
})

describe("window scale, passive open", () => {
    function listenAndSyn(peerWs: number, over?: any) {
        const h = new Harness(over)
        h.ip.keepRaw = true
        const lid = h.layer.listen(LOCAL_PORT, 4, false)
        expect(lid).toBeGreaterThanOrEqual(0)
        deliver(h, { flags: TCP_SYN, seq: REMOTE_ISS, window: 65535, mss: 1460, windowScale: peerWs })
        const [sa] = sent(h)
        expect(sa.flags).toBe(TCP_SYN | TCP_ACK)
        return { h, lid, sa }
    }

    test("a SYN that offers scaling gets shift 0 back, and its later windows are scaled", () => {
        const { h, lid, sa } = listenAndSyn(7)
        expect(sa.windowScale).toBe(0)
        deliver(h, { flags: TCP_ACK, seq: REMOTE_ISS + 1, ack: sa.seq + 1, window: 300 })
        const id = h.layer.accept(lid)
        expect(id).toBeGreaterThanOrEqual(0)
        expect(sndWnd(h, id)).toBe(300 << 7)
    })

    test("a SYN without the option gets none back, and nothing is scaled", () => {
        const { h, lid, sa } = listenAndSyn(-1)
        expect(sa.windowScale).toBe(-1)
        deliver(h, { flags: TCP_ACK, seq: REMOTE_ISS + 1, ack: sa.seq + 1, window: 300 })
        expect(sndWnd(h, h.layer.accept(lid))).toBe(300)
    })

    test("a retransmitted SYN-ACK still carries the option", () => {
        const { h } = listenAndSyn(5)
        h.advance(1000)
        const [again] = sent(h)
        expect(again.flags).toBe(TCP_SYN | TCP_ACK)
        expect(again.windowScale).toBe(0)
    })

    test("a SYN-cookie SYN-ACK offers no scaling (a cookie cannot remember it)", () => {
        const h = new Harness({ tcpSynQueue: 1 })
        h.ip.keepRaw = true
        const lid = h.layer.listen(LOCAL_PORT, 1, false)
        // The first SYN fills the SYN queue; the second, from another port, gets a cookie.
        deliver(h, { flags: TCP_SYN, seq: 1000, window: 65535, mss: 1460, windowScale: 7, dstPort: LOCAL_PORT })
        sent(h)
        const r = new TcpRepr()
        r.srcPort = REMOTE_PORT + 1
        r.dstPort = LOCAL_PORT
        r.seq = REMOTE_ISS
        r.flags = TCP_SYN
        r.window = 65535
        r.mss = 1460
        r.windowScale = 7
        const buf = Buffer.alloc(tcpHeaderLen(r))
        emitTcp(r, buf, 0)
        fillTcpChecksum(buf, 0, buf.length, REMOTE_IP, LOCAL_IP)
        h.layer.ipv4Input(h.ip, buf, 0, buf.length, REMOTE_IP, LOCAL_IP, h.now)
        const [sa] = sent(h)
        expect(h.layer.counters.synCookiesSent).toBe(1)
        expect(sa.windowScale).toBe(-1)
        // The completing ACK: the connection does not scale the peer's windows.
        r.flags = TCP_ACK
        r.seq = REMOTE_ISS + 1
        r.ack = u32(sa.seq + 1)
        r.window = 300
        r.mss = 0
        r.windowScale = -1
        const ackBuf = Buffer.alloc(tcpHeaderLen(r))
        emitTcp(r, ackBuf, 0)
        fillTcpChecksum(ackBuf, 0, ackBuf.length, REMOTE_IP, LOCAL_IP)
        h.layer.ipv4Input(h.ip, ackBuf, 0, ackBuf.length, REMOTE_IP, LOCAL_IP, h.now)
        expect(h.layer.counters.synCookiesAccepted).toBe(1)
        const id = h.layer.accept(lid)
        expect(id).toBeGreaterThanOrEqual(0)
        expect(sndWnd(h, id)).toBe(300)
    })
})
