// Reliability under attack, on virtual time: two NetStacks on a MemoryLink (A = victim /
// server 10.0.0.1, B = its peer 10.0.0.2), and an attacker that puts frames into A's receive
// path with the right MACs and IPs but without knowing the sequence numbers exactly.
//
// - RFC 5961 blind attacks against a live transfer: in-window RST not at RCV.NXT, SYN, data
//   with an unacceptable ACK. The transfer completes byte-exact; A answered with challenge
//   ACKs, at most tcpChallengeAckLimit per second.
// - ARP flood from random addresses: the gateway stays resolved, the table stays bounded,
//   traffic to the gateway never stalls into a retransmission timeout.
// - Port scans, SYN style over all 65535 ports and connect() style: RST for closed ports,
//   SYN-ACK for open ones, nothing leaks, a new connection works afterwards.
// - Slot exhaustion: new connections are refused cleanly and work again once slots free up.
//
// SOAK=1: bigger transfers, more attacks, and the connect scan over every port.
import { afterEach, describe, expect, test } from "vitest"
import { mulberry32 } from "../sim/enc28j60/prng"
import { StackConfig } from "../src/config"
import { MemoryLink } from "../src/socket/memory-link"
import { TcpSocket } from "../src/socket/socket"
import { NetStack } from "../src/stack"
import { Connection } from "../src/tcp/connection"
import { TCP_ROW_LISTENER } from "../src/tcp/info"
import { RX_OUTCOME_COUNTERS } from "../src/iface/outcomes"
import { VirtualScheduler } from "../sim/scheduler"
import { arpFrame, ipv4Frame, ZERO_MAC, BROADCAST_MAC } from "./helpers/frames"
import { buildSegment } from "./helpers/tcp-fixtures"
import { exchange } from "./helpers/lab"
import { sha256 } from "./helpers/data"
import { A_ADDR, A_IP, B_ADDR, errnoOf, pairConfig, pattern } from "./helpers/stack-pair"

const SOAK = process.env.SOAK === "1"
const KiB = 1024
const A_MAC = [0x02, 0, 0, 0, 0, 1]
const B_MAC = [0x02, 0, 0, 0, 0, 2]

interface Rig {
    sched: VirtualScheduler
    link: MemoryLink
    a: NetStack
    b: NetStack
    /** A's config (the stack reads it while it builds itself and keeps none of it). */
    aConfig: StackConfig
    /** Frames A sent (copies), while recording. */
    fromA: Buffer[]
    recordA: boolean
    /** Puts a frame into A's receive queue as if from the wire; false if the queue was full. */
    inject(f: Buffer): boolean
    stop(): void
}

let rig: Rig = null
afterEach(() => {
    if (rig) rig.stop()
    rig = null
})

async function startRig(overA: Partial<StackConfig> = {}, overB: Partial<StackConfig> = {}): Promise<Rig> {
    const sched = new VirtualScheduler()
    const link = new MemoryLink(64)
    const so = { idlePollMs: 1000 }
    const aConfig = pairConfig("10.0.0.1", 1, overA)
    const a = new NetStack(aConfig, sched, link.a, so)
    const b = new NetStack(pairConfig("10.0.0.2", 2, overB), sched, link.b, so)
    link.a.notify = a.rxNotify
    link.b.notify = b.rxNotify
    await a.start()
    await b.start()
    const r: Rig = {
        sched,
        link,
        a,
        b,
        aConfig,
        fromA: [],
        recordA: false,
        inject(f: Buffer): boolean {
            const dropped = link.b.dropped
            const filter = link.b.filter
            link.b.filter = null
            link.b.transmitNow(f, f.length)
            link.b.filter = filter
            return link.b.dropped === dropped
        },
        stop() {
            a.stop()
            b.stop()
            sched.halt()
        },
    }
    link.a.filter = {
        pass(buf: Buffer, len: number): boolean {
            if (r.recordA) r.fromA.push(Buffer.from(buf.subarray(0, len)))
            return true
        },
    }
    return r
}

/** Injects frames, yielding whenever A's queue is half full so real traffic still fits. */
async function injectAll(r: Rig, frames: Iterable<Buffer>, perYield = 8, perMs = 0): Promise<number> {
    let n = 0
    for (const f of frames) {
        while (r.link.a.queued() >= 32) await r.sched.sleep(0)
        if (!r.inject(f)) throw new Error("A's receive queue overflowed")
        n++
        // perMs: frames per virtual millisecond (0 = as fast as A takes them, no time passes).
        if (perMs > 0 && n % perMs === 0) await r.sched.sleep(1)
        else if (n % perYield === 0) await r.sched.sleep(0)
    }
    return n
}

function tcpFrame(spec: Parameters<typeof buildSegment>[0], src = B_ADDR, srcMac = B_MAC): Buffer {
    return ipv4Frame(A_MAC, srcMac, { src, dst: A_ADDR, protocol: 6 }, buildSegment(spec, src, A_ADDR))
}

/** A's connection for a socket (the attacker's oracle for "near" sequence numbers; never the exact ones it uses). */
function conn(st: NetStack, s: TcpSocket): Connection {
    return st.tcp.conns[s.handle & 0xff]
}

function expectNoInternalErrors(...stacks: NetStack[]): void {
    for (const st of stacks) {
        expect((st.iface.counters as unknown as Record<string, number>).internalErrors).toBe(0)
        expect(st.tcp.counters.internalErrors).toBe(0)
        expect(st.pump.deviceErrors).toBe(0)
        expect(st.scheduler === rig.sched && rig.sched.taskFailures()).toBe(0)
    }
}

/** A listens on port; B connects; both sides run exchange(); returns the sockets and results. */
async function startTransfer(r: Rig, port: number, bytes: number, seed: number, pauseMs = 0) {
    const listener = r.a.sockets.listen(port, 2)
    const accepted = listener.accept()
    const c = await r.b.sockets.connect(A_ADDR, port, 5000)
    const s = await accepted
    listener.close()
    const toB = pattern(bytes, seed)
    const toA = pattern(bytes, seed + 1)
    // A MemoryLink has no delay: paced writers stretch the transfer over virtual seconds, so the
    // attacks land in the middle of it (and the receive windows stay open).
    const atA = exchange(paced(r, s, pauseMs), toB, 700).then(async (res) => (await s.close().catch(() => {}), res))
    const atB = exchange(paced(r, c, pauseMs), toA, 700).then(async (res) => (await c.close().catch(() => {}), res))
    return { s, c, toA, toB, done: Promise.all([atA, atB]) }
}

/** The socket, with a pause after each write. */
function paced(r: Rig, s: TcpSocket, pauseMs: number): TcpSocket {
    if (pauseMs <= 0) return s
    // exchange() uses read, write and shutdown only.
    const p = {
        read: s.read.bind(s),
        shutdown: s.shutdown.bind(s),
        write: async (buf: Buffer, off: number, len: number) => {
            const n = await s.write(buf, off, len)
            await r.sched.sleep(pauseMs)
            return n
        },
    }
    return p as unknown as TcpSocket
}

// ------------------------------------------------------------------ RFC 5961

describe("blind attacks on a live connection (RFC 5961)", () => {
    const ATTACKS = SOAK ? 400 : 60
    const BYTES = (SOAK ? 1024 : 128) * KiB
    for (const kind of ["in-window RST", "SYN", "data with an unacceptable ACK"] as const) {
        test(`${kind}: the transfer completes byte-exact, challenge ACKs within the rate limit`, async () => {
            const r = (rig = await startRig({ tcpSendBuffer: 4096, tcpRecvBuffer: 4096 }))
            const rand = mulberry32(kind.length)
            const t = await startTransfer(r, 7100, BYTES, 5, SOAK ? 5 : 40)
            const ca0 = r.a.tcp.counters.challengeAcks
            const sup0 = r.a.tcp.counters.challengeAcksSuppressed
            const bursts: { sent: number; challenged: number }[] = []
            let attacks = 0
            let finished = false
            t.done.then(() => (finished = true))
            const t0 = r.sched.nowMs()
            while (attacks < ATTACKS && !finished) {
                // A burst of 20 blind segments, then a 1.1 s pause so the next burst has a new budget.
                const c = conn(r.a, t.s)
                const base = r.a.tcp.counters.challengeAcks
                // Built lazily, each from the window as it is when the frame goes in.
                function* burst(): Generator<Buffer> {
                    for (let i = 0; i < 20; i++) {
                        const win = ((c.rcvAdvRight - c.rcvNxt) | 0) > 1 ? (c.rcvAdvRight - c.rcvNxt) | 0 : 2
                        // Inside the window, never exactly RCV.NXT.
                        const seq = (c.rcvNxt + 1 + Math.floor(rand() * (win - 1))) >>> 0
                        if (kind === "in-window RST") yield tcpFrame({ flags: "R", seq, srcPort: t.c.localPort, dstPort: 7100 })
                        else if (kind === "SYN") yield tcpFrame({ flags: "S", seq: i % 4 === 3 ? (c.rcvNxt + Math.floor(rand() * 0x7fffffff)) >>> 0 : seq, srcPort: t.c.localPort, dstPort: 7100, mss: 536 })
                        else {
                            // Data exactly at RCV.NXT (the worst case), but the ACK is far outside
                            // [SND.UNA - MAX.SND.WND, SND.NXT]: RFC 5961 §5.2 says drop and challenge.
                            const ack = (c.sndUna - 0x40000000 - Math.floor(rand() * 0x1000000)) >>> 0
                            yield tcpFrame({ flags: "PA", seq: c.rcvNxt >>> 0, ack, srcPort: t.c.localPort, dstPort: 7100, payload: Buffer.alloc(100, 0xee) })
                        }
                    }
                }
                const sent = await injectAll(r, burst(), 1)
                attacks += sent
                await r.sched.sleep(20)
                bursts.push({ sent, challenged: r.a.tcp.counters.challengeAcks - base })
                await r.sched.sleep(1050)
            }
            const [atA, atB] = await t.done
            const seconds = (r.sched.nowMs() - t0) / 1000
            const ca = r.a.tcp.counters.challengeAcks - ca0
            console.log(`${kind}: ${attacks} blind segments in ${bursts.length} bursts over ${seconds.toFixed(1)} virtual s; challenge ACKs ${ca} (per burst ${bursts.map((b) => b.challenged).join(",")}), suppressed ${r.a.tcp.counters.challengeAcksSuppressed - sup0}`)
            expect(attacks).toBeGreaterThanOrEqual(40)
            expect(atA.error + atB.error).toBe("")
            expect(sha256(atA.received)).toBe(sha256(t.toA))
            expect(sha256(atB.received)).toBe(sha256(t.toB))
            expect(ca).toBeGreaterThan(0)
            // RFC 5961 §7: at most tcpChallengeAckLimit (10) per second, and a burst of 20 hits it.
            for (const b of bursts) expect(b.challenged).toBeLessThanOrEqual(r.aConfig.tcpChallengeAckLimit)
            expect(bursts.some((b) => b.challenged === r.aConfig.tcpChallengeAckLimit)).toBe(true)
            expect(r.a.tcp.counters.challengeAcksSuppressed - sup0).toBeGreaterThan(0)
            expect(ca).toBeLessThanOrEqual(r.aConfig.tcpChallengeAckLimit * (Math.ceil(seconds) + 1))
            expectNoInternalErrors(r.a, r.b)
        }, 60000)
    }
})

// ------------------------------------------------------------------ ARP flood

describe("ARP flood", () => {
    test("thousands of ARP requests and replies from random hosts: the gateway stays, the table stays bounded, traffic never stalls", async () => {
        // B is A's gateway: the traffic to B is traffic to the gateway.
        const r = (rig = await startRig({ gateway: "10.0.0.2", tcpSendBuffer: 4096, tcpRecvBuffer: 4096 }))
        const rand = mulberry32(77)
        const FLOOD = SOAK ? 100000 : 8000
        const t = await startTransfer(r, 7200, (SOAK ? 1024 : 256) * KiB, 9, 3)
        let finished = false
        t.done.then(() => (finished = true))
        const timeouts0 = r.a.tcp.counters.timeouts + r.b.tcp.counters.timeouts
        function* flood(): Generator<Buffer> {
            for (let i = 0; i < FLOOD; i++) {
                // Random sender in the subnet (never A or B) or anywhere, random unicast MAC.
                let ipv = rand() < 0.7 ? (0x0a000000 | (3 + Math.floor(rand() * 250))) >>> 0 : Math.floor(rand() * 0xdfffffff) >>> 0
                if (ipv === A_ADDR || ipv === B_ADDR) ipv = 0x0a000063
                const m = [0x02, Math.floor(rand() * 256), Math.floor(rand() * 256), Math.floor(rand() * 256), Math.floor(rand() * 256), Math.floor(rand() * 256)]
                const kind = rand()
                if (kind < 0.4) yield arpFrame({ op: 1, senderMac: m, senderIp: ipv, targetMac: ZERO_MAC, targetIp: A_ADDR }, BROADCAST_MAC)
                else if (kind < 0.7) yield arpFrame({ op: 2, senderMac: m, senderIp: ipv, targetMac: A_MAC, targetIp: A_ADDR }, A_MAC)
                else if (kind < 0.85) yield arpFrame({ op: 1, senderMac: m, senderIp: ipv, targetMac: ZERO_MAC, targetIp: (0x0a000000 | Math.floor(rand() * 256)) >>> 0 }, BROADCAST_MAC)
                else yield arpFrame({ op: 2, senderMac: m, senderIp: ipv, targetMac: ZERO_MAC, targetIp: ipv }, BROADCAST_MAC) // gratuitous
            }
        }
        let flooded = false
        let maxUsed = 0
        let gatewayMissing = 0
        const watch = (async () => {
            for (let i = 0; i < 100000 && !flooded; i++) {
                const e = r.a.iface.arp.find(B_ADDR)
                if (!e || e.mac.toString("hex") !== Buffer.from(B_MAC).toString("hex")) gatewayMissing++
                maxUsed = Math.max(maxUsed, r.a.iface.arp.entries.filter((x) => x.state !== 0).length)
                await r.sched.sleep(0)
            }
        })()
        const sent = await injectAll(r, flood(), 8, 32)
        flooded = true
        expect(finished, "the flood must overlap the transfer").toBe(false)
        await watch
        const [atA, atB] = await t.done
        const c = r.a.iface.counters
        console.log(`ARP flood: ${sent} frames; learned ${c.arpLearned}, evictions ${c.arpEvictions}, updated ${c.arpUpdated}; table max ${maxUsed}/${r.aConfig.arpEntries}; gateway missing in ${gatewayMissing} samples`)
        expect(atA.error + atB.error).toBe("")
        expect(sha256(atA.received)).toBe(sha256(t.toA))
        expect(sha256(atB.received)).toBe(sha256(t.toB))
        // Every flood frame reached A's ARP code and got an ARP outcome.
        const arpOutcomes = RX_OUTCOME_COUNTERS.filter((k) => k.startsWith("arp")).reduce((n, k) => n + (c as unknown as Record<string, number>)[k], 0)
        expect(arpOutcomes).toBeGreaterThanOrEqual(sent)
        expect(c.arpEvictions).toBeGreaterThan(0) // the flood really churned the table
        expect(r.a.iface.arp.entries.length).toBe(r.aConfig.arpEntries)
        expect(maxUsed).toBeLessThanOrEqual(r.aConfig.arpEntries)
        expect(gatewayMissing, "the gateway was evicted").toBe(0)
        expect(r.a.tcp.counters.timeouts + r.b.tcp.counters.timeouts - timeouts0, "traffic stalled into an RTO").toBe(0)
        expectNoInternalErrors(r.a, r.b)
    }, 60000)
})

// ------------------------------------------------------------------ port scans

const OPEN = [7, 22, 80, 443]

function listenersOnly(st: NetStack): string[] {
    const rows = st.sockets.netstat()
    const out: string[] = []
    for (let i = 0; i < st.sockets.netstatCount(); i++) {
        const x = rows[i]
        out.push(x.kind === TCP_ROW_LISTENER ? `LISTEN ${x.localPort} syn ${x.synQueue} acc ${x.acceptQueue}` : `${x.state} ${x.localPort}->${x.remotePort}`)
    }
    return out
}

async function healthyAfterwards(r: Rig, port: number): Promise<void> {
    const t = await startTransfer(r, port, 64 * KiB, 31)
    const [atA, atB] = await t.done
    expect(atA.error + atB.error).toBe("")
    expect(sha256(atA.received)).toBe(sha256(t.toA))
    expect(sha256(atB.received)).toBe(sha256(t.toB))
}

describe("port scans", () => {
    test("SYN scan of every port 1..65535: RST for closed ports, SYN-ACK for open ones, nothing leaks", async () => {
        // A's tcpListeners bounds how many ports can be open.
        const r = (rig = await startRig({ tcpListeners: OPEN.length + 1 }))
        const listeners = OPEN.map((p) => r.a.sockets.listen(p, 2))
        // B has talked to A before (A knows B's MAC): otherwise the first answers wait for ARP
        // and replace each other (one parked frame per address, RFC 1122 §2.3.2.2).
        r.inject(arpFrame({ op: 1, senderMac: B_MAC, senderIp: B_ADDR, targetMac: ZERO_MAC, targetIp: A_ADDR }, BROADCAST_MAC))
        await r.sched.sleep(10)
        r.recordA = true
        const srcPort = 40000
        function* syns(): Generator<Buffer> {
            for (let port = 1; port <= 65535; port++) yield tcpFrame({ flags: "S", seq: port * 7919, srcPort, dstPort: port, mss: 1460 })
        }
        // Two per yield: A's transmit pool (3 frames) must hold every answer of a pump step.
        await injectAll(r, syns(), 2)
        await r.sched.sleep(10)
        r.recordA = false
        const rst = new Set<number>()
        const synack = new Set<number>()
        for (const f of r.fromA) {
            if (f.readUInt16BE(12) !== 0x0800 || f[23] !== 6) continue
            const off = 14 + (f[14] & 15) * 4
            if (f.readUInt16BE(off + 2) !== srcPort) continue
            const flags = f[off + 13]
            const from = f.readUInt16BE(off)
            const ack = f.readUInt32BE(off + 8)
            expect(ack).toBe((from * 7919 + 1) >>> 0) // answers the scan's SYN
            if (flags === 0x14) rst.add(from)
            else if (flags === 0x12) synack.add(from)
            else throw new Error(`unexpected flags ${flags} from port ${from}`)
        }
        console.log(`SYN scan: ${rst.size} RST, ${synack.size} SYN-ACK (${[...synack].join(",")}), A: ${JSON.stringify({ rx: r.a.tcp.counters.rxSegments, noConn: r.a.tcp.counters.rxNoConnection, txNoFrame: r.a.tcp.counters.txNoFrame, pool: r.a.iface.counters.txDropPoolEmpty })}`)
        expect([...synack].sort((x, y) => x - y)).toEqual(OPEN)
        const missing: number[] = []
        for (let p = 1; p <= 65535; p++) if (!rst.has(p) && !synack.has(p)) missing.push(p)
        expect(missing, `no answer (rstSent ${r.a.tcp.counters.rstSent})`).toEqual([])
        expect(rst.size).toBe(65535 - OPEN.length)
        // B answered every SYN-ACK with RST (no such connection): the SYN queue is empty again.
        await r.sched.sleep(5000)
        expect(listenersOnly(r.a)).toEqual(OPEN.map((p) => `LISTEN ${p} syn 0 acc 0`))
        await healthyAfterwards(r, 9000)
        for (const l of listeners) l.close()
        expectNoInternalErrors(r.a, r.b)
    }, 60000)

    test(`connect() scan of ports 1..${SOAK ? 65535 : 2000}: refused or accepted, nothing leaks`, async () => {
        const LAST = SOAK ? 65535 : 2000
        const r = (rig = await startRig({ tcpListeners: OPEN.length + 1 }))
        const listeners = OPEN.map((p) => r.a.sockets.listen(p, 2))
        // The open ports accept and hang up, like a banner-less service.
        const servers = listeners.map(async (l) => {
            for (;;) {
                const s = await l.accept().catch(() => null)
                if (!s) return
                await s.close().catch(() => {})
            }
        })
        const result: Record<string, number[]> = {}
        for (let port = 1; port <= LAST; port++) {
            let err = ""
            err = await errnoOf(async () => {
                const c = await r.b.sockets.connect(A_IP, port, 5000)
                await c.close()
            })
            ;(result[err || "OK"] ??= []).push(port)
        }
        console.log(`connect scan 1..${LAST}: ${Object.entries(result).map(([k, v]) => `${k} ${v.length}`).join(", ")}; A resets sent ${r.a.tcp.counters.rstSent}`)
        expect(result.OK).toEqual(OPEN.filter((p) => p <= LAST))
        expect(result.ECONNREFUSED.length).toBe(LAST - result.OK.length)
        // TIME-WAITs and closing handshakes end; then only the listeners are left on A.
        await r.sched.sleep(r.aConfig.tcpTimeWaitMs + 5000)
        expect(listenersOnly(r.a)).toEqual(OPEN.map((p) => `LISTEN ${p} syn 0 acc 0`))
        expect(listenersOnly(r.b)).toEqual([])
        await healthyAfterwards(r, 9001)
        for (const l of listeners) l.close()
        await Promise.all(servers)
        expectNoInternalErrors(r.a, r.b)
    }, SOAK ? 600000 : 60000)
})

// ------------------------------------------------------------------ exhaustion

describe("connection slot exhaustion", () => {
    test("every slot in use: new connections are refused cleanly; after they close new ones succeed", async () => {
        // A has 4 slots; B has room for more, so it can ask for a fifth.
        const r = (rig = await startRig({ tcpConnections: 4 }, { tcpConnections: 8 }))
        const listener = r.a.sockets.listen(7300, 2)
        const held: TcpSocket[] = []
        const clients: TcpSocket[] = []
        for (let i = 0; i < 4; i++) {
            const acc = listener.accept()
            clients.push(await r.b.sockets.connect(A_ADDR, 7300, 5000))
            held.push(await acc)
        }
        // A itself cannot open one either.
        expect(await errnoOf(() => r.a.sockets.connect(B_ADDR, 9999, 1000))).toBe("EMFILE")
        // A fifth peer connection, to a plain listener and to one with abortOnOverflow.
        const overflow = r.a.sockets.listen(7302, 2, { abortOnOverflow: true })
        for (const [port, allowed] of [
            // Dropped like an accept-queue overflow (src/tcp/README.md): B may believe the
            // handshake, but A never establishes it and never delivers its data.
            [7300, ["ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "EAGAIN"]],
            // Answered with RST.
            [7302, ["ECONNREFUSED", "ECONNRESET"]],
        ] as const) {
            const before = { ...r.a.tcp.counters }
            let c: TcpSocket = null
            const extra = await errnoOf(async () => {
                c = await r.b.sockets.connect(A_ADDR, port, 20000)
                await c.write(Buffer.from("hello"), 0, 5)
                c.setReadTimeout(20000)
                await c.read(Buffer.alloc(16), 0, 16) // EAGAIN: read timed out with nothing
            })
            if (c) c.abort()
            const after = r.a.tcp.counters
            const delta = (k: keyof typeof after) => after[k] - before[k]
            console.log(`exhaustion, port ${port}: fifth connect -> ${extra}; A: listenDrops ${delta("listenDrops")}, acceptQueueOverflows ${delta("acceptQueueOverflows")}, noFreeSlot ${delta("noFreeSlot")}, synQueueFull ${delta("synQueueFull")}, rstSent ${delta("rstSent")}`)
            expect(allowed).toContain(extra)
            // Counted as exhaustion, not as a full accept queue (the listener's queue is empty).
            expect(delta("noFreeSlot")).toBeGreaterThan(0)
            expect(delta("acceptQueueOverflows")).toBe(0)
            if (port === 7302) expect(delta("rstSent")).toBeGreaterThan(0)
            expect(listenersOnly(r.a).filter((x) => x.startsWith("ESTABLISHED")).length).toBe(4)
            expect(held.every((s) => s.bytesReadable() === 0)).toBe(true)
        }
        overflow.close()
        // The held connections still work.
        const buf = Buffer.alloc(8)
        await clients[0].write(Buffer.from("ping"), 0, 4)
        expect(await held[0].read(buf, 0, 8)).toBe(4)
        // Free them all; new connections succeed.
        for (const s of held) await s.close()
        for (const c of clients) await c.close()
        await r.sched.sleep(r.aConfig.tcpTimeWaitMs + 5000)
        listener.close()
        await healthyAfterwards(r, 7301)
        expectNoInternalErrors(r.a, r.b)
    }, 60000)
})
