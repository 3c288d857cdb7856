// Reliability under garbage: two whole NetStacks on a MemoryLink (virtual time) keep two
// echo connections busy while a seeded fuzzer pushes >= 100,000 frames into A's receive
// path (the link queue the pump reads): mutated copies of frames B really sent (ARP, TCP
// segments of the live connections, handshake), hand-made ARP/ICMP/TCP seeds, forged but
// harmless segments of the live connections (sequence far outside the window), exact
// replays, and purely random frames.
//
// Required: nothing throws (internalErrors and pump device errors stay 0), every frame is
// accounted for (outcome counters sum to rxFrames), the echo transfers complete byte-exact
// (sha256), and nothing is allocated during the fuzz phase (allocationCount()).
//
// Forgeries that a correct TCP *must* accept would corrupt the stream legitimately (a
// segment with a valid checksum, in-window sequence and acceptable ACK is data, RFC 9293
// §3.10.7.4), so for the live 4-tuples a mutated segment whose checksum still verifies gets
// its checksum broken; likewise an ARP packet claiming B's address keeps B's MAC (spoofing
// B is ARP working as designed, not a robustness bug). Everything else goes in as mutated.
//
// `npm test`: 100,000 frames. SOAK=1: 1,000,000 frames and three seeds.
import { afterEach, describe, expect, test } from "vitest"
import { mulberry32 } from "../sim/enc28j60/prng"
import { RX_OUTCOME_COUNTERS } from "../src/iface/outcomes"
import { TcpSocket } from "../src/socket/socket"
import { allocationCount } from "../src/util/bytes"
import { checksum, ethernet, icmpEcho, ipv4Frame, arpFrame, BROADCAST_MAC, ZERO_MAC } from "./helpers/frames"
import { buildSegment } from "./helpers/tcp-fixtures"
import { A_ADDR, B_ADDR, Pair, startPair, pattern } from "./helpers/stack-pair"
import { sha256 } from "./helpers/data"

const SOAK = process.env.SOAK === "1"
const FRAMES = SOAK ? 1_000_000 : 100_000
const SEEDS = SOAK ? [1, 2, 3] : [1]
const PORT = 7000
const A_MAC = [0x02, 0, 0, 0, 0, 1]
const B_MAC = [0x02, 0, 0, 0, 0, 2]
const MAX_FRAME = 1518

let pair: Pair = null
afterEach(() => {
    if (pair) pair.stop()
    pair = null
})

// ------------------------------------------------------------------ frame surgery (reference code, not src/)

function tcpChecksumOk(f: Buffer, ipOff: number, segOff: number, segEnd: number): boolean {
    const pseudo = Buffer.alloc(12)
    f.copy(pseudo, 0, ipOff + 12, ipOff + 20)
    pseudo[9] = 6
    pseudo.writeUInt16BE(segEnd - segOff, 10)
    const sum = 0xffff & ~checksum(pseudo)
    return checksum(f, segOff, segEnd, sum) === 0
}

/** IPv4-in-Ethernet header geometry as a receiver would read it, or null. */
function ipGeometry(f: Buffer): { hl: number; tl: number } | null {
    if (f.length < 34 || f.readUInt16BE(12) !== 0x0800 || f[14] >> 4 !== 4) return null
    const hl = (f[14] & 15) * 4
    const tl = f.readUInt16BE(16)
    if (hl < 20 || tl < hl || 14 + tl > f.length) return null
    return { hl, tl }
}

function fixIpChecksum(f: Buffer): void {
    if (f.length < 34 || f.readUInt16BE(12) !== 0x0800) return
    const hl = (f[14] & 15) * 4
    if (hl < 20 || 14 + hl > f.length) return
    f.writeUInt16BE(0, 24)
    f.writeUInt16BE(checksum(f, 14, 14 + hl), 24)
}

/** Recomputes the TCP or ICMP checksum so a mutation reaches the checks behind it. */
function fixL4Checksum(f: Buffer): void {
    const g = ipGeometry(f)
    if (!g) return
    const off = 14 + g.hl
    const end = 14 + g.tl
    if (f[23] === 6 && end - off >= 20) {
        f.writeUInt16BE(0, off + 16)
        const pseudo = Buffer.alloc(12)
        f.copy(pseudo, 0, 26, 34)
        pseudo[9] = 6
        pseudo.writeUInt16BE(end - off, 10)
        f.writeUInt16BE(checksum(f, off, end, 0xffff & ~checksum(pseudo)), off + 16)
    } else if (f[23] === 1 && end - off >= 8) {
        f.writeUInt16BE(0, off + 2)
        f.writeUInt16BE(checksum(f, off, end), off + 2)
    }
}

/** A TCP segment B -> A of a live connection, as A would demultiplex it. */
function liveSegment(f: Buffer, live: Set<number>): { off: number; end: number } | null {
    const g = ipGeometry(f)
    if (!g || f[23] !== 6 || f.readUInt32BE(26) !== B_ADDR || f.readUInt32BE(30) !== A_ADDR) return null
    const off = 14 + g.hl
    const end = 14 + g.tl
    if (end - off < 20) return null
    if (f.readUInt16BE(off + 2) !== PORT || !live.has(f.readUInt16BE(off))) return null
    return { off, end }
}

/** Keeps the fuzzer from forging what a correct stack must believe (see the header). */
function defang(f: Buffer, live: Set<number>): void {
    const seg = liveSegment(f, live)
    if (seg && tcpChecksumOk(f, 14, seg.off, seg.end)) f[seg.off + 16] ^= 0x5a
    if (f.length >= 42 && f.readUInt16BE(12) === 0x0806 && f.readUInt32BE(28) === B_ADDR) Buffer.from(B_MAC).copy(f, 22)
}

// ------------------------------------------------------------------ the fuzzer

type Rand = () => number

class Fuzzer {
    readonly rand: Rand
    /** Frames B really sent to A (a bounded, refreshed sample) plus hand-made seeds. */
    readonly corpus: Buffer[] = []
    readonly kinds: Record<string, number> = {}
    capturing = true

    constructor(seed: number) {
        this.rand = mulberry32(seed)
        this.corpus.push(
            arpFrame({ op: 1, senderMac: B_MAC, senderIp: B_ADDR, targetMac: ZERO_MAC, targetIp: A_ADDR }),
            arpFrame({ op: 2, senderMac: B_MAC, senderIp: B_ADDR, targetMac: A_MAC, targetIp: A_ADDR }, A_MAC),
            arpFrame({ op: 1, senderMac: [2, 9, 9, 9, 9, 9], senderIp: 0x0a000063, targetMac: ZERO_MAC, targetIp: A_ADDR }),
            ipv4Frame(A_MAC, B_MAC, { src: B_ADDR, dst: A_ADDR, protocol: 1 }, icmpEcho({ type: 8, id: 7, seq: 1, data: pattern(56, 3) })),
            ipv4Frame(A_MAC, B_MAC, { src: B_ADDR, dst: A_ADDR, protocol: 6 }, buildSegment({ flags: "S", seq: 1234, srcPort: 40000, dstPort: PORT, mss: 1460 }, B_ADDR, A_ADDR)),
            ipv4Frame(A_MAC, B_MAC, { src: B_ADDR, dst: A_ADDR, protocol: 6 }, buildSegment({ flags: "A", seq: 99, ack: 77, srcPort: 40001, dstPort: 22 }, B_ADDR, A_ADDR)),
            ipv4Frame(A_MAC, B_MAC, { src: B_ADDR, dst: A_ADDR, protocol: 17 }, pattern(40, 4)),
        )
    }

    int(n: number): number {
        return Math.floor(this.rand() * n)
    }

    capture(buf: Buffer, len: number): void {
        if (!this.capturing) return
        const copy = Buffer.from(buf.subarray(0, len))
        if (this.corpus.length < 256) this.corpus.push(copy)
        else this.corpus[7 + this.int(this.corpus.length - 7)] = copy
    }

    private count(kind: string): void {
        this.kinds[kind] = (this.kinds[kind] ?? 0) + 1
    }

    /** One frame to inject. */
    next(live: Set<number>): Buffer {
        const r = this.rand()
        let f: Buffer
        if (r < 0.15) {
            f = this.random()
            this.count("random")
        } else if (r < 0.25) {
            const forged = this.forgeOutOfWindow(live)
            if (forged) {
                this.count("forged out of window")
                return forged
            }
            f = this.mutated()
            this.count("mutated")
        } else if (r < 0.3) {
            // An exact replay of something B sent: a duplicate, which TCP must tolerate.
            this.count("replay")
            return Buffer.from(this.corpus[this.int(this.corpus.length)])
        } else {
            f = this.mutated()
            this.count("mutated")
        }
        defang(f, live)
        return f.length > MAX_FRAME ? f.subarray(0, MAX_FRAME) : f
    }

    private random(): Buffer {
        const len = this.int(this.rand() < 0.5 ? 80 : MAX_FRAME + 1)
        const f = Buffer.alloc(len)
        for (let i = 0; i < len; i++) f[i] = this.int(256)
        if (len >= 14) {
            const d = this.rand()
            if (d < 0.4) Buffer.from(A_MAC).copy(f, 0)
            else if (d < 0.7) Buffer.from(BROADCAST_MAC).copy(f, 0)
            const t = this.rand()
            if (t < 0.4) f.writeUInt16BE(0x0800, 12)
            else if (t < 0.6) f.writeUInt16BE(0x0806, 12)
        }
        if (len >= 34 && f.readUInt16BE(12) === 0x0800 && this.rand() < 0.6) {
            // Plausible IPv4 header with random everything behind it.
            f[14] = 0x45
            f.writeUInt16BE(this.rand() < 0.7 ? len - 14 : this.int(65536), 16)
            f[20] = 0x40
            f[21] = 0
            f[23] = [1, 6, 17, this.int(256)][this.int(4)]
            f.writeUInt32BE(this.rand() < 0.5 ? B_ADDR : this.int(0x100000000) >>> 0, 26)
            f.writeUInt32BE(A_ADDR, 30)
            fixIpChecksum(f)
            if (this.rand() < 0.5) fixL4Checksum(f)
        }
        return f
    }

    private mutated(): Buffer {
        let f = Buffer.from(this.corpus[this.int(this.corpus.length)])
        const n = 1 + this.int(4)
        for (let i = 0; i < n; i++) {
            const m = this.int(9)
            if (f.length === 0) break
            if (m === 0) f[this.int(f.length)] ^= 1 << this.int(8)
            else if (m === 1) f[this.int(f.length)] = this.int(256)
            else if (m === 2) f = f.subarray(0, this.int(f.length + 1))
            else if (m === 3) f = Buffer.concat([f, Buffer.from(Array.from({ length: 1 + this.int(64) }, () => this.int(256)))])
            else if (m === 4 && f.length >= 18) {
                // IPv4 total length lies: off by a little, or anything.
                const tl = f.readUInt16BE(16)
                f.writeUInt16BE(this.rand() < 0.5 ? (tl + this.int(41) - 20) & 0xffff : this.int(65536), 16)
            } else if (m === 5 && f.length >= 15) f[14] = (f[14] & 0xf0) | this.int(16) // IHL lies
            else if (m === 6 && f.length >= 47) f[46] = (this.int(16) << 4) | (f[46] & 15) // TCP data offset lies (IHL 5)
            else if (m === 7 && f.length >= 22) f[14 + this.int(8)] = [0, 1, 2, 4, 6, 0x11, 0x20, 0x45, 0x80, 0xff][this.int(10)] // ARP htype/ptype/hlen/plen/op, IP fields
            else if (m === 8 && f.length >= 48) f[47] = this.int(64) // TCP flags
        }
        if (this.rand() < 0.6) fixIpChecksum(f)
        if (this.rand() < 0.5) fixL4Checksum(f)
        return Buffer.from(f)
    }

    /** A live segment moved ~2^30 outside the window (any flags, any ACK), checksummed: must be refused. */
    private forgeOutOfWindow(live: Set<number>): Buffer | null {
        for (let tries = 0; tries < 8; tries++) {
            const f = Buffer.from(this.corpus[this.int(this.corpus.length)])
            const seg = liveSegment(f, live)
            if (!seg) continue
            const seq = f.readUInt32BE(seg.off + 4)
            const away = (0x40000000 + this.int(0x3fffffff)) * (this.rand() < 0.5 ? 1 : -1)
            f.writeUInt32BE((seq + away) >>> 0, seg.off + 4)
            if (this.rand() < 0.5) f.writeUInt32BE(this.int(0x100000000) >>> 0, seg.off + 8)
            f[seg.off + 13] = [0x10, 0x18, 0x04, 0x14, 0x02, 0x12, 0x11, this.int(64)][this.int(8)]
            fixL4Checksum(f)
            return f
        }
        return null
    }
}

// ------------------------------------------------------------------ the connections

/** Client side of one echo connection: sends rounds until told to stop, checks everything came back. */
async function echoClient(p: Pair, s: TcpSocket, seed: number, stop: () => boolean, progress?: number[]): Promise<{ sent: string; got: string; bytes: number }> {
    const rand = mulberry32(seed)
    const sent: Buffer[] = []
    const got: Buffer[] = []
    const buf = Buffer.alloc(2048)
    let bytes = 0
    let round = 0
    while (!stop() || bytes < 32 * 1024) {
        const chunk = pattern(1 + Math.floor(rand() * 3000), seed * 100000 + round++)
        await s.write(chunk, 0, chunk.length)
        sent.push(chunk)
        let need = chunk.length
        while (need > 0) {
            const n = await s.read(buf, 0, Math.min(buf.length, need))
            if (n === 0) throw new Error("echo server closed early")
            got.push(Buffer.from(buf.subarray(0, n)))
            need -= n
        }
        bytes += chunk.length
        if (progress) progress[0] = bytes
        // A MemoryLink has no delay: without a pause virtual time would never move (no timers).
        await p.sched.sleep(1)
    }
    s.shutdown()
    const n = await s.read(buf, 0, buf.length)
    expect(n).toBe(0)
    await s.close()
    return { sent: sha256(Buffer.concat(sent)), got: sha256(Buffer.concat(got)), bytes }
}

async function echoServer(s: TcpSocket): Promise<void> {
    const buf = Buffer.alloc(1500)
    for (;;) {
        const n = await s.read(buf, 0, buf.length)
        if (n === 0) break
        await s.write(buf, 0, n)
    }
    await s.close()
}

function expectHealthy(p: Pair): void {
    for (const [name, st] of [["A", p.a], ["B", p.b]] as const) {
        const c = st.iface.counters as unknown as Record<string, number>
        expect(c.internalErrors, `${name} interface internalErrors`).toBe(0)
        expect(st.tcp.counters.internalErrors, `${name} TCP internalErrors`).toBe(0)
        expect(st.pump.deviceErrors, `${name} pump errors (an exception escaped input)`).toBe(0)
        expect(RX_OUTCOME_COUNTERS.reduce((s, k) => s + c[k], 0), `${name}: every frame has one outcome`).toBe(c.rxFrames)
    }
}

describe("fuzzing a device with open connections", () => {
    for (const seed of SEEDS) {
        test(`${FRAMES} random and mutated frames into A while two echo connections run (seed ${seed})`, async () => {
            const wall0 = Date.now()
            const p = (pair = await startPair({ tcpSendBuffer: 4096, tcpRecvBuffer: 4096 }, { linkQueue: 64 }))
            const fz = new Fuzzer(seed)
            // What B transmits towards A is the fuzzer's corpus.
            p.link.b.filter = { pass: (buf, len) => (fz.capture(buf, len), true) }
            const listener = p.a.sockets.listen(PORT, 2)
            const servers: Promise<void>[] = []
            const clients: TcpSocket[] = []
            for (let i = 0; i < 2; i++) {
                const accepted = listener.accept()
                clients.push(await p.b.sockets.connect(A_ADDR, PORT, 5000))
                servers.push(echoServer(await accepted))
            }
            const live = new Set(clients.map((c) => c.localPort))

            let injected = 0
            let empty = 0
            let done = false
            const progress = clients.map(() => [0])
            const clientRuns = clients.map((c, i) => echoClient(p, c, seed * 10 + i, () => done, progress[i]))
            // Let the connections carry data before the fuzz starts, then measure memory.
            await p.sched.sleep(20)
            const allocs0 = allocationCount()
            const echoed0 = progress.map((x) => x[0])
            const ooo0 = p.a.tcp.counters.rxOutOfWindow
            while (injected < FRAMES) {
                // Leave room in A's receive queue for B's real frames.
                for (let k = 0; k < 16 && injected < FRAMES && p.link.a.queued() < 40; k++) {
                    const f = fz.next(live)
                    fz.capturing = false
                    p.link.b.transmitNow(f, f.length)
                    if (f.length === 0) empty++ // a MemoryNetDevice reports an empty frame as "nothing received"
                    fz.capturing = true
                    injected++
                }
                await p.sched.sleep(injected % 256 === 0 ? 1 : 0)
            }
            await p.sched.sleep(100)
            const allocs = allocationCount() - allocs0
            const echoedDuringFuzz = progress.map((x, i) => x[0] - echoed0[i])
            done = true
            const results = await Promise.all(clientRuns)
            await Promise.all(servers)
            listener.close()

            const a = p.a.iface.counters
            const t = p.a.tcp.counters
            console.log(
                `fuzz seed ${seed}: ${injected} frames ${JSON.stringify(fz.kinds)} in ${Date.now() - wall0} ms wall, ` +
                    `${p.sched.nowMs()} ms virtual; echoed ${results.map((r) => r.bytes).join("+")} bytes (${echoedDuringFuzz.join("+")} during the fuzz); ` +
                    `link drops ${p.link.b.dropped}; ` +
                    `A rx ${a.rxFrames}, ipDropChecksum ${a.ipDropChecksum}, tcp checksum ${t.rxDropChecksum}, malformed ${t.rxDropMalformed}, ` +
                    `out-of-window ${t.rxOutOfWindow}, no-connection ${t.rxNoConnection}, challenge ACKs ${t.challengeAcks}, RSTs sent ${t.rstSent}`,
            )
            expect(allocs, "allocations during the fuzz phase").toBe(0)
            expectHealthy(p)
            // The connections carried data while the fuzz frames arrived.
            for (const n of echoedDuringFuzz) expect(n).toBeGreaterThan(16 * 1024)
            for (const r of results) {
                expect(r.got).toBe(r.sent)
                expect(r.bytes).toBeGreaterThanOrEqual(32 * 1024)
            }
            // The fuzz reached every layer, not only the first checks.
            expect(a.rxFrames).toBeGreaterThanOrEqual(FRAMES - empty)
            for (const k of ["ethDropShort", "ethDropNotOurs", "ethDropOtherType", "arpDropMalformed", "arpRequestsForUs", "ipDropChecksum", "ipDropTotalLen", "ipDropHeaderLen", "ipDelivered", "icmpEchoRequests"])
                expect((a as unknown as Record<string, number>)[k], k).toBeGreaterThan(0)
            expect(t.rxDropChecksum).toBeGreaterThan(0)
            expect(t.rxDropMalformed).toBeGreaterThan(0)
            expect(t.rxNoConnection).toBeGreaterThan(0)
            expect(t.rxOutOfWindow - ooo0).toBeGreaterThan(0)
            // Nothing leaked: only the listener is left, and a fresh connection works.
            const fresh = p.a.sockets.listen(PORT + 1, 1)
            const acc = fresh.accept()
            const c = await p.b.sockets.connect(A_ADDR, PORT + 1, 5000)
            const s = await acc
            const echo = echoServer(s)
            const r = await echoClient(p, c, 999, () => true)
            await echo
            expect(r.got).toBe(r.sent)
            fresh.close()
            expectHealthy(p)
        }, SOAK ? 600000 : 60000)
    }
})

