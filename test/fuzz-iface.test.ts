// Fuzzing Interface.input with random frames and mutated valid frames (fast-check).
//
// State means: the ARP table (every field of every entry) and every transmit frame
// (state, length and bytes, including the control frame), plus the queue and free
// counts. Counters are not state.
//
// The property is differential: a reference classifier written here, independently
// of src/, predicts which outcome counter each frame must end in. Then
// - the interface must agree with the prediction, and never throw or hit internalErrors;
// - when the prediction is a drop, the state must be exactly unchanged;
// - an ARP packet that is valid but not for us may only refresh an existing entry for
//   its sender (RFC 826 merge): without one, the state is unchanged;
// - a valid ARP request for us gets the exact reply; a valid echo request from a known
//   neighbour gets the exact reply (built here from the mutated request);
// - datagrams for the UDP test handler arrive with exactly the predicted payload;
// - always: tables bounded, every frame accounted for, outcome counters sum to rxFrames.
import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { Interface } from "../src/iface/interface"
import { RX_OUTCOME_COUNTERS, ICMP_OUTCOME_COUNTERS } from "../src/iface/outcomes"
import { ARP_FREE } from "../src/iface/arp-cache"
import { TX_ALLOCATED, TX_FREE, TX_PENDING_ARP, TX_QUEUED, TX_SENDING, TxFrame } from "../src/iface/tx-pool"
import {
    BROADCAST_MAC,
    FAR,
    GW,
    PEER,
    US,
    ZERO_MAC,
    arpFrame,
    checksum,
    ethernet,
    icmpEcho,
    ip,
    ipv4Frame,
    ipv4Packet,
    makeIface,
    pattern,
    pingFrame,
    teachArp,
} from "./helpers/frames"

const MTU = 1500
const SUBNET_BCAST = ip("10.0.2.255")
const UDP = 17
const NEW_HOST = { mac: [2, 0, 0, 0, 0, 0x77], ip: ip("10.0.2.77") }

// ------------------------------------------------------------------ the reference model

function macEq(f: Buffer, off: number, m: number[]): boolean {
    for (let i = 0; i < 6; i++) if (f[off + i] !== m[i]) return false
    return true
}

interface Prediction {
    outcome: string
    icmp?: string // for ICMP datagrams delivered
    udpPayload?: Buffer
    arpSender?: { ip: number; mac: number[] }
}

/** What must happen to frame f[0..len) at an interface configured as US (10.0.2.15/24). */
function predict(f: Buffer, len: number): Prediction {
    if (len < 14) return { outcome: "ethDropShort" }
    if (!macEq(f, 0, US.mac) && !macEq(f, 0, BROADCAST_MAC)) return { outcome: f[0] & 1 ? "ethDropMulticast" : "ethDropNotOurs" }
    const type = f.readUInt16BE(12)
    if (type === 0x0806) {
        const n = len - 14
        if (n < 28) return { outcome: "arpDropMalformed" }
        const a = 14
        if (f.readUInt16BE(a) !== 1 || f.readUInt16BE(a + 2) !== 0x0800 || f[a + 4] !== 6 || f[a + 5] !== 4) return { outcome: "arpDropMalformed" }
        const op = f.readUInt16BE(a + 6)
        if (op !== 1 && op !== 2) return { outcome: "arpDropMalformed" }
        const sMac = [...f.subarray(a + 8, a + 14)]
        const sIp = f.readUInt32BE(a + 14)
        const tIp = f.readUInt32BE(a + 24)
        if (sMac[0] & 1 || sIp >= 0xe0000000 || sIp >>> 24 === 127 || sIp === SUBNET_BCAST) return { outcome: "arpDropBadSender" }
        if (sIp === US.ip) return { outcome: macEq(f, a + 8, US.mac) ? "arpNotForUs" : "arpDropConflict" }
        const arpSender = { ip: sIp, mac: sMac }
        if (tIp !== US.ip) return { outcome: sIp !== 0 && sIp === tIp ? "arpGratuitous" : "arpNotForUs", arpSender }
        return { outcome: op === 1 ? "arpRequestsForUs" : "arpRepliesForUs", arpSender }
    }
    if (type === 0x86dd) return { outcome: "ethDropIpv6" }
    if (type !== 0x0800) return { outcome: "ethDropOtherType" }
    const n = len - 14
    if (n < 20) return { outcome: "ipDropShort" }
    if (f[14] >> 4 !== 4) return { outcome: "ipDropVersion" }
    const hl = (f[14] & 15) * 4
    if (hl < 20 || hl > n) return { outcome: "ipDropHeaderLen" }
    const tl = f.readUInt16BE(16)
    if (tl < hl || tl > n) return { outcome: "ipDropTotalLen" }
    if (checksum(f, 14, 14 + hl) !== 0) return { outcome: "ipDropChecksum" }
    const ff = f.readUInt16BE(20)
    if (ff & 0x2000 || ff & 0x1fff) return { outcome: "ipDropFragment" }
    const src = f.readUInt32BE(26)
    const dst = f.readUInt32BE(30)
    if (dst !== US.ip && dst !== 0xffffffff && dst !== SUBNET_BCAST) return { outcome: "ipDropNotForUs" }
    if (src >= 0xe0000000 || src >>> 24 === 127 || src === SUBNET_BCAST) return { outcome: "ipDropBadSource" }
    const proto = f[23]
    const payload = f.subarray(14 + hl, 14 + tl)
    if (proto === UDP) return { outcome: "ipDelivered", udpPayload: Buffer.from(payload) }
    if (proto !== 1) return { outcome: "ipDropUnknownProtocol" }
    if (payload.length < 8) return { outcome: "ipDelivered", icmp: "icmpDropShort" }
    if (checksum(payload) !== 0) return { outcome: "ipDelivered", icmp: "icmpDropChecksum" }
    if (payload[0] !== 8 || payload[1] !== 0) return { outcome: "ipDelivered", icmp: "icmpOther" }
    if (dst !== US.ip) return { outcome: "ipDelivered", icmp: "icmpDropBroadcastEcho" }
    if (payload.length + 20 > MTU) return { outcome: "ipDelivered", icmp: "icmpDropTooLong" }
    return { outcome: "ipDelivered", icmp: "icmpEchoRequests" }
}

// ------------------------------------------------------------------ state and invariants

function frameState(f: TxFrame) {
    return [f.state, f.len, f.buf.toString("hex")]
}

function snapshot(iface: Interface): string {
    return JSON.stringify({
        arp: iface.arp.entries.map((e) => [e.ip, e.state, e.mac.toString("hex"), e.updatedMs, e.usedMs, e.used, e.pendingSinceMs, e.lastRequestMs, e.requestsSent, iface.pool.frames.indexOf(e.pending)]),
        frames: iface.pool.frames.map(frameState),
        control: frameState(iface.pool.controlFrame),
        free: iface.pool.free(),
        queued: iface.txQueueLength(),
    })
}

function arpWithout(iface: Interface, skipIp: number): string {
    return JSON.stringify(iface.arp.entries.filter((e) => e.state === ARP_FREE || e.ip !== skipIp).map((e) => [e.ip, e.state, e.mac.toString("hex"), e.updatedMs]))
}

function checkInvariants(iface: Interface, udpCalls: number): void {
    const c = iface.counters as unknown as Record<string, number>
    expect(c.internalErrors).toBe(0)
    expect(RX_OUTCOME_COUNTERS.reduce((s, k) => s + c[k], 0)).toBe(c.rxFrames)
    expect(ICMP_OUTCOME_COUNTERS.reduce((s, k) => s + c[k], 0) + udpCalls).toBe(c.ipDelivered)
    const pool = iface.pool
    const n = pool.frames.length
    const byState = [TX_FREE, TX_ALLOCATED, TX_PENDING_ARP, TX_QUEUED, TX_SENDING].map((s) => pool.countState(s))
    expect(byState.reduce((a, b) => a + b, 0)).toBe(n)
    expect(byState[0]).toBe(pool.free())
    expect(byState[1]).toBe(0) // nothing left half-built
    expect(byState[4]).toBe(0) // the test pump returns everything
    const queuedControl = pool.controlFrame.state === TX_QUEUED ? 1 : 0
    expect(pool.queued()).toBe(byState[3] + queuedControl)
    const live = iface.arp.entries.filter((e) => e.state !== ARP_FREE)
    expect(iface.arp.entries.length).toBe(RIG_ARP_ENTRIES) // the table never grows
    expect(new Set(live.map((e) => e.ip)).size).toBe(live.length)
    const parked = iface.arp.entries.filter((e) => e.pending !== null)
    expect(parked.length).toBe(byState[2])
    for (const e of parked) expect(e.pending.state).toBe(TX_PENDING_ARP)
}

/** Copies of the queued frames, returned to the pool (the pump's job). */
function drainFrames(iface: Interface): Buffer[] {
    const out: Buffer[] = []
    for (let f = iface.nextTxFrame(); f !== null; f = iface.nextTxFrame()) {
        out.push(Buffer.from(f.buf.subarray(0, f.len)))
        iface.txDone(f)
    }
    return out
}

// ------------------------------------------------------------------ frames and mutations

const seeds: Buffer[] = [
    arpFrame({ op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: US.ip }),
    arpFrame({ op: 1, senderMac: NEW_HOST.mac, senderIp: NEW_HOST.ip, targetMac: ZERO_MAC, targetIp: US.ip }, undefined, false),
    arpFrame({ op: 2, senderMac: NEW_HOST.mac, senderIp: NEW_HOST.ip, targetMac: US.mac, targetIp: US.ip }),
    arpFrame({ op: 1, senderMac: GW.mac, senderIp: GW.ip, targetMac: ZERO_MAC, targetIp: PEER.ip }),
    arpFrame({ op: 1, senderMac: GW.mac, senderIp: GW.ip, targetMac: ZERO_MAC, targetIp: GW.ip }),
    pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, data: pattern(56) }),
    pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, data: pattern(3) }, false),
    pingFrame({ ethDst: US.mac, ethSrc: GW.mac, src: FAR.ip, dst: US.ip, data: pattern(20) }),
    pingFrame({ ethDst: BROADCAST_MAC, ethSrc: PEER.mac, src: PEER.ip, dst: SUBNET_BCAST }),
    pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, data: pattern(1472) }),
    ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: US.ip, protocol: UDP }, pattern(30)),
    ipv4Frame(BROADCAST_MAC, PEER.mac, { src: PEER.ip, dst: 0xffffffff, protocol: UDP, options: Uint8Array.from([1, 1, 1, 0]) }, pattern(9)),
    ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: US.ip, protocol: 1 }, icmpEcho({ type: 3, code: 3, id: 0, seq: 0, data: pattern(28) })),
    ipv4Frame(US.mac, PEER.mac, { src: SUBNET_BCAST, dst: US.ip, protocol: UDP }, pattern(8)),
    arpFrame({ op: 1, senderMac: NEW_HOST.mac, senderIp: US.ip, targetMac: ZERO_MAC, targetIp: US.ip }),
    pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, data: pattern(1473) }),
    ethernet({ dst: [0x33, 0x33, 0, 0, 0, 1], src: PEER.mac, type: 0x86dd }, pattern(60)),
    ethernet({ dst: US.mac, src: PEER.mac, type: 0x86dd }, pattern(40)),
]

type Mutation =
    | { kind: "flip"; pos: number; bit: number }
    | { kind: "set"; pos: number; value: number }
    | { kind: "header"; pos: number; value: number }
    | { kind: "truncate"; len: number }
    | { kind: "append"; bytes: Uint8Array }
    | { kind: "dst"; which: number }
    | { kind: "addr"; pos: number; value: number }
    | { kind: "ipField"; pos: number; value: number }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), pos: fc.nat(1600), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant("set" as const), pos: fc.nat(1600), value: fc.nat(255) }),
    fc.record({ kind: fc.constant("header" as const), pos: fc.nat(61), value: fc.constantFrom(0, 1, 2, 4, 6, 8, 0x20, 0x40, 0x45, 0x46, 0x4f, 0x80, 0xff) }),
    fc.record({ kind: fc.constant("truncate" as const), len: fc.nat(1600) }),
    fc.record({ kind: fc.constant("append" as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
    fc.record({ kind: fc.constant("dst" as const), which: fc.nat(3) }),
    // IPv4 version/IHL (14), total length (16, 17), flags/fragment offset (20, 21), protocol (23).
    fc.record({
        kind: fc.constant("ipField" as const),
        pos: fc.constantFrom(14, 16, 17, 20, 21, 23),
        value: fc.constantFrom(0, 1, 5, 6, 8, 17, 0x14, 0x1c, 0x20, 0x40, 0x42, 0x44, 0x45, 0x46, 0x4f, 0x55, 0x65, 0xff),
    }),
    // IPv4 src/dst (26, 30) or ARP sender/target IP (28, 38) set to an address that matters.
    fc.record({
        kind: fc.constant("addr" as const),
        pos: fc.constantFrom(26, 30, 28, 38),
        value: fc.constantFrom(0, US.ip, PEER.ip, GW.ip, NEW_HOST.ip, FAR.ip, SUBNET_BCAST, 0xffffffff, ip("10.0.2.0"), ip("224.0.0.1"), ip("240.0.0.1"), ip("10.0.3.15")),
    }),
)

function mutate(seed: Buffer, ms: Mutation[]): Buffer {
    let f = Buffer.from(seed)
    for (const m of ms) {
        if (m.kind === "truncate") f = f.subarray(0, m.len % (f.length + 1))
        else if (m.kind === "append") f = Buffer.concat([f, m.bytes])
        else if (f.length === 0) continue
        else if (m.kind === "flip") f[m.pos % f.length] ^= 1 << m.bit
        else if (m.kind === "set") f[m.pos % f.length] = m.value
        else if (m.kind === "ipField") {
            if (m.pos < f.length) f[m.pos] = m.value
        } else if (m.kind === "addr") {
            if (m.pos + 4 <= f.length) f.writeUInt32BE(m.value >>> 0, m.pos)
        } else if (m.kind === "header") {
            if (m.pos < f.length) f[m.pos] = m.value
        } else if (f.length >= 6) {
            const macs = [US.mac, BROADCAST_MAC, [1, 0, 0x5e, 0, 0, 1], [2, 0, 0, 0, 0, 0x99]]
            Buffer.from(macs[m.which]).copy(f, 0)
        }
    }
    return Buffer.from(f)
}

/** Repairs the IPv4 header checksum (and the ICMP one) so mutations reach the deeper checks. */
function fixChecksums(f: Buffer): void {
    if (f.length < 34 || f.readUInt16BE(12) !== 0x0800) return
    const hl = (f[14] & 15) * 4
    if (hl < 20 || 14 + hl > f.length) return
    f.writeUInt16BE(0, 24)
    f.writeUInt16BE(checksum(f, 14, 14 + hl), 24)
    const tl = f.readUInt16BE(16)
    if (f[23] !== 1 || tl < hl + 8 || 14 + tl > f.length) return
    const icmp = 14 + hl
    f.writeUInt16BE(0, icmp + 2)
    f.writeUInt16BE(checksum(f, icmp, 14 + tl), icmp + 2)
}

const stepArb = fc.record({
    seed: fc.nat(seeds.length - 1),
    mutations: fc.array(mutationArb, { maxLength: 4 }),
    fix: fc.boolean(),
    staleTail: fc.boolean(),
    advanceMs: fc.oneof(fc.constant(0), fc.nat(2000), fc.nat(400000)),
    drain: fc.boolean(),
})

// ------------------------------------------------------------------ the runs

interface Rig {
    iface: Interface
    udp: { payload: Buffer; src: number; dst: number }[]
    rx: Buffer
    now: number
}

const RIG_ARP_ENTRIES = 4

function newRig(): Rig {
    const iface = makeIface({ arpEntries: RIG_ARP_ENTRIES, txFrames: 3 })
    const udp: Rig["udp"] = []
    iface.registerIpv4Handler(UDP, {
        ipv4Input(_i, buf, off, len, src, dst) {
            udp.push({ payload: Buffer.from(buf.subarray(off, off + len)), src, dst })
        },
    })
    teachArp(iface, GW, 0)
    teachArp(iface, PEER, 0)
    return { iface, udp, rx: Buffer.alloc(1600), now: 0 }
}

/** Feeds frame[0..len) from a reused RX buffer (stale bytes after len) and checks the property. */
function feedAndCheck(rig: Rig, frame: Buffer, staleTail: boolean): void {
    const { iface } = rig
    const len = Math.min(frame.length, rig.rx.length)
    rig.rx.fill(staleTail ? 0xa5 : 0)
    frame.copy(rig.rx, 0, 0, len)
    const p = predict(rig.rx, len)
    const before = snapshot(iface)
    const counters = { ...iface.counters } as unknown as Record<string, number>
    const peerEntry = iface.arp.find(PEER.ip)
    const peerKnown = peerEntry !== null && iface.arp.isFresh(peerEntry, rig.now)
    // An earlier (mutated, but valid) ARP packet may legitimately have re-pointed PEER's MAC.
    const peerMac = peerKnown ? [...peerEntry!.mac] : PEER.mac
    const senderKnown = p.arpSender ? iface.arp.find(p.arpSender.ip) !== null : false
    const udpBefore = rig.udp.length
    const arpBefore = p.arpSender ? arpWithout(iface, p.arpSender.ip) : ""
    const queuedBefore = iface.txQueueLength()

    iface.input(rig.rx, len, rig.now)

    const after = iface.counters as unknown as Record<string, number>
    const moved = RX_OUTCOME_COUNTERS.filter((k) => after[k] !== counters[k])
    expect(moved).toEqual([p.outcome])
    if (p.icmp) expect(ICMP_OUTCOME_COUNTERS.filter((k) => after[k] !== counters[k])).toEqual([p.icmp])
    checkInvariants(iface, rig.udp.length)

    const isDrop = !["arpNotForUs", "arpGratuitous", "arpRequestsForUs", "arpRepliesForUs", "ipDelivered"].includes(p.outcome)
    if (isDrop || (p.icmp && p.icmp !== "icmpEchoRequests")) expect(snapshot(iface)).toBe(before)
    if (p.outcome === "arpNotForUs" || p.outcome === "arpGratuitous") {
        if (!senderKnown) expect(snapshot(iface)).toBe(before)
        else expect(arpWithout(iface, p.arpSender!.ip)).toBe(arpBefore)
    }
    if (p.arpSender && senderKnown) {
        const e = iface.arp.find(p.arpSender.ip)!
        expect([...e.mac]).toEqual(p.arpSender.mac)
        expect(e.updatedMs).toBe(rig.now)
    }
    if (p.udpPayload) {
        expect(rig.udp.length).toBe(udpBefore + 1)
        expect(rig.udp[udpBefore].payload).toEqual(p.udpPayload)
    } else {
        expect(rig.udp.length).toBe(udpBefore)
    }
    if (p.outcome === "arpRequestsForUs" && queuedBefore === 0) {
        const out = drainFrames(iface)
        const s = p.arpSender!
        const expected = arpFrame({ op: 2, senderMac: US.mac, senderIp: US.ip, targetMac: s.mac, targetIp: s.ip }, s.mac)
        expect(out[out.length - 1]).toEqual(expected)
    }
    if (p.icmp === "icmpEchoRequests" && queuedBefore === 0 && peerKnown && rig.rx.readUInt32BE(26) === PEER.ip) {
        const out = drainFrames(iface)
        expect(out.length).toBe(1)
        const hl = (rig.rx[14] & 15) * 4
        const tl = rig.rx.readUInt16BE(16)
        const req = rig.rx.subarray(14 + hl, 14 + tl)
        const ipId = out[0].readUInt16BE(18)
        const pong = ethernet(
            { dst: peerMac, src: US.mac, type: 0x0800 },
            ipv4Packet({ src: US.ip, dst: PEER.ip, protocol: 1, id: ipId, ttl: 64, df: true }, icmpEcho({ type: 0, id: req.readUInt16BE(4), seq: req.readUInt16BE(6), data: req.subarray(8) })),
        )
        expect(out[0]).toEqual(pong)
    }
}

describe("fuzzing Interface.input", () => {
    test("mutated valid frames: outcome as predicted, drops leave the state untouched", () => {
        const outcomes = new Map<string, number>()
        fc.assert(
            fc.property(fc.array(stepArb, { minLength: 1, maxLength: 25 }), (steps) => {
                const rig = newRig()
                for (const s of steps) {
                    rig.now += s.advanceMs
                    rig.iface.poll(rig.now)
                    if (s.drain) drainFrames(rig.iface)
                    const f = mutate(seeds[s.seed], s.mutations)
                    if (s.fix) fixChecksums(f)
                    feedAndCheck(rig, f, s.staleTail)
                    const o = predict(f, f.length)
                    const key = o.icmp ?? o.outcome
                    outcomes.set(key, (outcomes.get(key) ?? 0) + 1)
                }
                checkInvariants(rig.iface, rig.udp.length)
            }),
            { numRuns: 400 },
        )
        // The generator must reach deep paths, not only the first checks.
        for (const k of ["ipDropBadSource", "arpDropConflict", "icmpDropTooLong", "ipDropChecksum", "ipDropTotalLen", "ipDropHeaderLen", "ipDropFragment", "ipDropNotForUs", "arpDropMalformed", "arpRequestsForUs", "icmpEchoRequests", "icmpDropChecksum", "ipDelivered"])
            expect(outcomes.get(k) ?? 0, k).toBeGreaterThan(0)
    })
    test("random frames never throw; counters and tables stay consistent", () => {
        const dstArb = fc.oneof(fc.constant(US.mac), fc.constant(BROADCAST_MAC), fc.array(fc.nat(255), { minLength: 6, maxLength: 6 }))
        const typeArb = fc.oneof(fc.constant(0x0800), fc.constant(0x0806), fc.constant(0x86dd), fc.nat(0xffff))
        const frameArb = fc.tuple(dstArb, typeArb, fc.uint8Array({ maxLength: 1600 }), fc.nat(1700)).map(([dst, type, body, cut]) => {
            const f = Buffer.concat([Buffer.from(dst), Buffer.from(PEER.mac), Buffer.from([type >> 8, type & 0xff]), body])
            return f.subarray(0, Math.min(cut, f.length))
        })
        fc.assert(
            fc.property(fc.array(fc.tuple(frameArb, fc.boolean()), { maxLength: 30 }), (frames) => {
                const rig = newRig()
                for (const [f, stale] of frames) {
                    rig.now += 37
                    feedAndCheck(rig, Buffer.from(f), stale)
                    if (stale) drainFrames(rig.iface)
                }
            }),
            { numRuns: 300 },
        )
    })
    test("an ARP flood for us keeps every table bounded and the gateway resolved", () => {
        fc.assert(
            fc.property(fc.array(fc.tuple(fc.nat(0xff), fc.nat(0xffffff)), { minLength: 50, maxLength: 200 }), (senders) => {
                const rig = newRig()
                for (const [low, macLow] of senders) {
                    const s = { mac: [2, 0, 0, (macLow >> 16) & 0xff, (macLow >> 8) & 0xff, macLow & 0xff], ip: (ip("10.0.2.0") | low) >>> 0 }
                    rig.now += 10
                    feedAndCheck(rig, arpFrame({ op: 1, senderMac: s.mac, senderIp: s.ip, targetMac: ZERO_MAC, targetIp: US.ip }), false)
                    drainFrames(rig.iface)
                }
                // The gateway may be re-pointed only by a packet claiming its address: otherwise untouched.
                const gwClaimed = senders.some(([low]) => low === 2)
                const gw = rig.iface.arp.find(GW.ip)
                if (!gwClaimed) expect([...gw!.mac]).toEqual(GW.mac)
                else expect(gw).not.toBeNull()
            }),
            { numRuns: 100 },
        )
    })
})
