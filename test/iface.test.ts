// The interface: Ethernet filter, ARP replies, ICMP echo, IPv4 input checks, output
// (routing, padding, headers), the frame pool and the allocation-free hot path.
import { describe, expect, test } from "vitest"
import { Interface, IPV4_PAYLOAD_OFFSET, Ipv4Handler } from "../src/iface/interface"
import { InterfaceCounters } from "../src/iface/counters"
import { RX_OUTCOME_COUNTERS, ICMP_OUTCOME_COUNTERS } from "../src/iface/outcomes"
import { allocationCount } from "../src/util/bytes"
import {
    BROADCAST_MAC,
    FAR,
    GW,
    PEER,
    US,
    ZERO_MAC,
    arpFrame,
    checksum,
    decodeArp,
    decodeEthernet,
    decodeIpv4,
    drain,
    ethernet,
    feed,
    icmpEcho,
    ip,
    ipv4Frame,
    ipv4Packet,
    makeIface,
    pattern,
    pingFrame,
    teachArp,
} from "./helpers/frames"

/** The counters that changed, with their increments. */
function delta(before: InterfaceCounters, after: InterfaceCounters): Record<string, number> {
    const d: Record<string, number> = {}
    for (const k of Object.keys(after) as (keyof InterfaceCounters)[]) if (after[k] !== before[k]) d[k] = after[k] - before[k]
    return d
}

/** Feeds a frame and returns the outcome counter it ended in (exactly one must move). */
function outcomeOf(iface: Interface, frame: Buffer, now = 0): string {
    const before = { ...iface.counters }
    feed(iface, frame, now)
    const d = delta(before, iface.counters)
    const moved = RX_OUTCOME_COUNTERS.filter((k) => d[k] !== undefined)
    expect(moved.length).toBe(1)
    expect(d[moved[0]]).toBe(1)
    expect(iface.counters.internalErrors).toBe(0)
    return moved[0]
}

function expectedPong(data: Buffer, id: number, seq: number, ipId: number, to = PEER, viaMac = PEER.mac): Buffer {
    return ethernet(
        { dst: viaMac, src: US.mac, type: 0x0800 },
        ipv4Packet({ src: US.ip, dst: to.ip, protocol: 1, id: ipId, ttl: 64, df: true }, icmpEcho({ type: 0, id, seq, data })),
    )
}

describe("Ethernet demux", () => {
    test("frames for other MACs, multicast, IPv6, other types and runts are dropped and counted", () => {
        const iface = makeIface()
        const arp = { op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: US.ip }
        expect(outcomeOf(iface, arpFrame(arp, [2, 0, 0, 0, 0, 9]))).toBe("ethDropNotOurs")
        expect(outcomeOf(iface, arpFrame(arp, [0x01, 0x00, 0x5e, 0, 0, 1]))).toBe("ethDropMulticast")
        expect(outcomeOf(iface, ethernet({ dst: [0x33, 0x33, 0, 0, 0, 1], src: PEER.mac, type: 0x86dd }, Buffer.alloc(40)))).toBe("ethDropMulticast")
        expect(outcomeOf(iface, ethernet({ dst: US.mac, src: PEER.mac, type: 0x86dd }, Buffer.alloc(40)))).toBe("ethDropIpv6")
        expect(outcomeOf(iface, ethernet({ dst: BROADCAST_MAC, src: PEER.mac, type: 0x88cc }, Buffer.alloc(40)))).toBe("ethDropOtherType")
        expect(outcomeOf(iface, ethernet({ dst: US.mac, src: PEER.mac, type: 0x0026 }, Buffer.alloc(40)))).toBe("ethDropOtherType") // 802.3 length
        expect(outcomeOf(iface, Buffer.alloc(13))).toBe("ethDropShort")
        expect(drain(iface)).toEqual([])
        expect(iface.arp.count()).toBe(0)
    })
    test("a length beyond the buffer is clamped, a negative or NaN one is a runt", () => {
        const iface = makeIface()
        const f = arpFrame({ op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: US.ip })
        iface.input(f, 10000, 0)
        expect(iface.counters.arpRequestsForUs).toBe(1)
        iface.input(f, -5, 0)
        iface.input(f, NaN, 0)
        expect(iface.counters.ethDropShort).toBe(2)
        expect(iface.counters.rxFrames).toBe(3)
        expect(iface.counters.rxBytes).toBe(f.length)
    })
})

describe("ARP replies", () => {
    test("a request for us gets the exact reply, unicast to the asker", () => {
        const iface = makeIface()
        const req = arpFrame({ op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: US.ip })
        expect(outcomeOf(iface, req)).toBe("arpRequestsForUs")
        const out = drain(iface)
        expect(out).toEqual([arpFrame({ op: 2, senderMac: US.mac, senderIp: US.ip, targetMac: PEER.mac, targetIp: PEER.ip }, PEER.mac)])
        expect(out[0].length).toBe(60)
        expect(iface.counters.arpRepliesSent).toBe(1)
    })
    test("an unpadded 42-byte request (as passt sends it) is answered with a padded 60-byte reply", () => {
        const iface = makeIface()
        const req = arpFrame({ op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: US.ip }, undefined, false)
        expect(req.length).toBe(42)
        feed(iface, req)
        const [reply] = drain(iface)
        expect(reply.length).toBe(60)
        expect([...reply.subarray(42)]).toEqual(new Array(18).fill(0))
    })
    test("requests for other addresses are not answered", () => {
        const iface = makeIface()
        expect(outcomeOf(iface, arpFrame({ op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: ip("10.0.2.99") }))).toBe("arpNotForUs")
        expect(drain(iface)).toEqual([])
    })
    test("an RFC 5227 probe for our address (sender 0.0.0.0) is answered, nothing learned", () => {
        const iface = makeIface()
        feed(iface, arpFrame({ op: 1, senderMac: PEER.mac, senderIp: 0, targetMac: ZERO_MAC, targetIp: US.ip }))
        const out = drain(iface)
        expect(out.length).toBe(1)
        expect(decodeArp(decodeEthernet(out[0]).payload)).toEqual({ op: 2, senderMac: US.mac, senderIp: US.ip, targetMac: PEER.mac, targetIp: 0 })
        expect(iface.arp.count()).toBe(0)
    })
    test("bad senders and conflicts are dropped; our own reflected packet is harmless", () => {
        const iface = makeIface()
        const base = { op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: US.ip }
        expect(outcomeOf(iface, arpFrame({ ...base, senderMac: [1, 0, 0x5e, 0, 0, 1] }))).toBe("arpDropBadSender")
        expect(outcomeOf(iface, arpFrame({ ...base, senderIp: ip("224.0.0.5") }))).toBe("arpDropBadSender")
        expect(outcomeOf(iface, arpFrame({ ...base, senderIp: ip("10.0.2.255") }))).toBe("arpDropBadSender")
        expect(outcomeOf(iface, arpFrame({ ...base, senderIp: ip("127.0.0.1") }))).toBe("arpDropBadSender")
        expect(outcomeOf(iface, arpFrame({ ...base, senderIp: US.ip }))).toBe("arpDropConflict")
        expect(outcomeOf(iface, arpFrame({ ...base, senderMac: US.mac, senderIp: US.ip, targetIp: GW.ip }))).toBe("arpNotForUs")
        expect(drain(iface)).toEqual([])
        expect(iface.arp.count()).toBe(0)
    })
    test("malformed ARP and ARP before we have an address are dropped", () => {
        const iface = makeIface()
        const good = arpFrame({ op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: US.ip })
        const bad = Buffer.from(good)
        bad[14 + 5] = 6 // plen
        expect(outcomeOf(iface, bad)).toBe("arpDropMalformed")
        expect(outcomeOf(iface, good.subarray(0, 14 + 27))).toBe("arpDropMalformed")
        const unconfigured = makeIface({ ip: "0.0.0.0" })
        expect(outcomeOf(unconfigured, good)).toBe("arpDropNoAddress")
        expect(drain(unconfigured)).toEqual([])
    })
})

describe("ICMP echo", () => {
    test("echo request -> byte-exact echo reply (learned MAC, IP id counts up)", () => {
        const iface = makeIface()
        teachArp(iface, PEER)
        const data = pattern(56, 3)
        expect(outcomeOf(iface, pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, id: 0xabcd, seq: 9, data }))).toBe("ipDelivered")
        expect(drain(iface)).toEqual([expectedPong(data, 0xabcd, 9, 1)])
        feed(iface, pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, id: 0xabcd, seq: 10, data }))
        expect(drain(iface)).toEqual([expectedPong(data, 0xabcd, 10, 2)])
        expect(iface.counters.icmpEchoRequests).toBe(2)
        expect(iface.counters.icmpEchoRepliesSent).toBe(2)
    })
    test("a 1472-byte payload (1500-byte datagram) is echoed in full", () => {
        const iface = makeIface()
        teachArp(iface, PEER)
        const data = pattern(1472, 11)
        feed(iface, pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, id: 1, seq: 2, data }))
        const out = drain(iface)
        expect(out).toEqual([expectedPong(data, 1, 2, 1)])
        expect(out[0].length).toBe(1514)
        expect(decodeIpv4(out[0].subarray(14)).totalLen).toBe(1500)
    })
    test("an echo too big for our MTU is dropped (1473 bytes of data)", () => {
        const iface = makeIface()
        teachArp(iface, PEER)
        const big = Buffer.alloc(1600)
        const f = pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, data: pattern(1473) })
        f.copy(big)
        iface.input(big, f.length, 0)
        expect(iface.counters.icmpDropTooLong).toBe(1)
        expect(drain(iface)).toEqual([])
    })
    test("empty echo data and an odd length work (reply padded to 60)", () => {
        const iface = makeIface()
        teachArp(iface, PEER)
        for (const n of [0, 1, 17]) {
            const data = pattern(n, n)
            feed(iface, pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, id: 5, seq: n, data }))
            const out = drain(iface)
            expect(out.length).toBe(1)
            expect(out[0].length).toBe(Math.max(60, 42 + n))
            expect(out[0]).toEqual(expectedPong(data, 5, n, iface.counters.icmpEchoRepliesSent))
        }
    })
    test("echo to a broadcast address is ignored (no smurf amplifier)", () => {
        const iface = makeIface()
        teachArp(iface, PEER)
        for (const dst of [ip("255.255.255.255"), ip("10.0.2.255")]) feed(iface, pingFrame({ ethDst: BROADCAST_MAC, ethSrc: PEER.mac, src: PEER.ip, dst }))
        expect(iface.counters.icmpDropBroadcastEcho).toBe(2)
        expect(drain(iface)).toEqual([])
    })
    test("other ICMP types and corrupted ICMP are counted, not answered", () => {
        const iface = makeIface()
        teachArp(iface, PEER)
        feed(iface, pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, type: 0 }))
        const unreachable = icmpEcho({ type: 3, code: 1, id: 0, seq: 0, data: Buffer.alloc(28) })
        feed(iface, ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: US.ip, protocol: 1 }, unreachable))
        const bad = Buffer.from(pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip }))
        bad[50] ^= 0xff
        feed(iface, bad)
        feed(iface, ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: US.ip, protocol: 1 }, Buffer.from([8, 0, 0xf7])))
        expect(iface.counters.icmpOther).toBe(2)
        expect(iface.counters.icmpDropChecksum).toBe(1)
        expect(iface.counters.icmpDropShort).toBe(1)
        expect(drain(iface)).toEqual([])
        const icmpSum = ICMP_OUTCOME_COUNTERS.reduce((s, k) => s + (iface.counters as any)[k], 0)
        expect(icmpSum).toBe(iface.counters.ipDelivered)
    })
    test("no echo replies before we have an address", () => {
        const iface = makeIface({ ip: "0.0.0.0" })
        feed(iface, pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip }))
        expect(iface.counters.icmpDropNoAddress).toBe(1)
        expect(drain(iface)).toEqual([])
    })
    test("a ping from off-subnet is answered through the gateway", () => {
        const iface = makeIface()
        teachArp(iface, GW)
        const data = pattern(8)
        feed(iface, pingFrame({ ethDst: US.mac, ethSrc: GW.mac, src: FAR.ip, dst: US.ip, id: 4, seq: 4, data }))
        expect(drain(iface)).toEqual([expectedPong(data, 4, 4, 1, { mac: GW.mac, ip: FAR.ip }, GW.mac)])
    })
})

describe("IPv4 input checks", () => {
    const good = () => pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip })
    /** Changes a header byte and repairs the header checksum. */
    function withHeader(off: number, value: number): Buffer {
        const f = Buffer.from(good())
        f[14 + off] = value
        f.writeUInt16BE(0, 24)
        const hl = Math.max(20, Math.min((f[14] & 15) * 4, f.length - 14))
        f.writeUInt16BE(checksum(f, 14, 14 + hl), 24)
        return f
    }
    test("each malformation has its own counter", () => {
        const iface = makeIface()
        teachArp(iface, PEER)
        expect(outcomeOf(iface, good().subarray(0, 14 + 19))).toBe("ipDropShort")
        expect(outcomeOf(iface, withHeader(0, 0x65))).toBe("ipDropVersion")
        expect(outcomeOf(iface, withHeader(0, 0x44))).toBe("ipDropHeaderLen")
        // IHL 15 (60 bytes) on an unpadded 28-byte datagram: options would run past the data.
        const tiny = pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, data: pattern(0) }, false)
        tiny[14] = 0x4f
        tiny.writeUInt16BE(0, 24)
        tiny.writeUInt16BE(checksum(tiny, 14, 34), 24) // sum over the 20 bytes present
        expect(outcomeOf(iface, tiny)).toBe("ipDropHeaderLen")
        expect(outcomeOf(iface, withHeader(2, 0xff))).toBe("ipDropTotalLen")
        const badSum = Buffer.from(good())
        badSum[14 + 10] ^= 1
        expect(outcomeOf(iface, badSum)).toBe("ipDropChecksum")
        expect(outcomeOf(iface, good().subarray(0, good().length - 1))).toBe("ipDropTotalLen") // truncated datagram
        expect(drain(iface)).toEqual([])
    })
    test("fragments are dropped and counted (MF set, or offset != 0)", () => {
        const iface = makeIface()
        teachArp(iface, PEER)
        const icmp = icmpEcho({ type: 8, id: 1, seq: 1, data: pattern(16) })
        expect(outcomeOf(iface, ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: US.ip, protocol: 1, mf: true }, icmp))).toBe("ipDropFragment")
        expect(outcomeOf(iface, ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: US.ip, protocol: 1, fragOffset: 8 }, icmp))).toBe("ipDropFragment")
        expect(outcomeOf(iface, ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: US.ip, protocol: 1, fragOffset: 1480, mf: true }, icmp))).toBe("ipDropFragment")
        expect(outcomeOf(iface, ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: US.ip, protocol: 1, df: true }, icmp))).toBe("ipDelivered")
        expect(iface.counters.ipDropFragment).toBe(3)
        expect(drain(iface).length).toBe(1)
    })
    test("destination filter: ours and broadcasts pass, others are dropped", () => {
        const iface = makeIface()
        const seen: number[] = []
        iface.registerIpv4Handler(17, { ipv4Input: (_i, _b, _o, _l, _s, dst) => void seen.push(dst) })
        const udp = Buffer.alloc(8)
        for (const dst of ["10.0.2.15", "255.255.255.255", "10.0.2.255", "10.0.2.16", "10.0.3.255", "0.0.0.0", "224.0.0.1"])
            feed(iface, ipv4Frame(dst === "10.0.2.15" ? US.mac : BROADCAST_MAC, PEER.mac, { src: PEER.ip, dst: ip(dst), protocol: 17 }, udp))
        expect(seen).toEqual([ip("10.0.2.15"), ip("255.255.255.255"), ip("10.0.2.255")])
        expect(iface.counters.ipDropNotForUs).toBe(4)
    })
    test("without an address every destination reaches the handlers (DHCP)", () => {
        const iface = makeIface({ ip: "0.0.0.0" })
        let n = 0
        iface.registerIpv4Handler(17, { ipv4Input: () => void n++ })
        feed(iface, ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: ip("10.0.2.77"), protocol: 17 }, Buffer.alloc(8)))
        feed(iface, ipv4Frame(BROADCAST_MAC, PEER.mac, { src: PEER.ip, dst: ip("255.255.255.255"), protocol: 17 }, Buffer.alloc(8)))
        expect(n).toBe(2)
    })
    test("broadcast, multicast or loopback sources are dropped (RFC 1122 §3.2.1.3)", () => {
        const iface = makeIface()
        for (const src of ["255.255.255.255", "10.0.2.255", "224.1.2.3", "240.0.0.1", "127.0.0.1", "127.1.2.3"])
            expect(outcomeOf(iface, pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: ip(src), dst: US.ip }))).toBe("ipDropBadSource")
    })
    test("unknown protocols are dropped; handlers get the payload view, options skipped", () => {
        const iface = makeIface()
        expect(outcomeOf(iface, ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: US.ip, protocol: 99 }, Buffer.alloc(4)))).toBe("ipDropUnknownProtocol")
        const calls: any[] = []
        const h: Ipv4Handler = {
            ipv4Input(i, buf, off, len, src, dst, now) {
                calls.push({ same: i === iface, payload: [...buf.subarray(off, off + len)], src, dst, now })
            },
        }
        expect(iface.registerIpv4Handler(99, h)).toBe(true)
        const options = Uint8Array.from([1, 1, 1, 0])
        feed(iface, ipv4Frame(US.mac, PEER.mac, { src: PEER.ip, dst: US.ip, protocol: 99, options }, Buffer.from([9, 8, 7])), 1234)
        expect(calls).toEqual([{ same: true, payload: [9, 8, 7], src: PEER.ip, dst: US.ip, now: 1234 }])
    })
    test("the handler table is bounded; re-registering replaces", () => {
        const iface = makeIface()
        const h: Ipv4Handler = { ipv4Input() {} }
        expect(iface.registerIpv4Handler(6, h)).toBe(true)
        expect(iface.registerIpv4Handler(17, h)).toBe(true)
        expect(iface.registerIpv4Handler(50, h)).toBe(true)
        expect(iface.registerIpv4Handler(51, h)).toBe(false) // ICMP + 3 = 4 entries
        expect(iface.registerIpv4Handler(17, h)).toBe(true)
    })
})

describe("IPv4 output", () => {
    function send(iface: Interface, dst: number, payload: Buffer, protocol = 17, now = 0): boolean {
        const f = iface.allocIpv4Frame()
        expect(f).not.toBeNull()
        payload.copy(f!.buf, IPV4_PAYLOAD_OFFSET)
        return iface.sendIpv4(f!, dst, protocol, payload.length, now)
    }
    test("on-subnet: headers written exactly (DF, TTL from config, checksum)", () => {
        const iface = makeIface({ ttl: 99 })
        teachArp(iface, PEER)
        expect(send(iface, PEER.ip, pattern(100))).toBe(true)
        const out = drain(iface)
        expect(out).toEqual([ethernet({ dst: PEER.mac, src: US.mac, type: 0x0800 }, ipv4Packet({ src: US.ip, dst: PEER.ip, protocol: 17, id: 1, ttl: 99, df: true }, pattern(100)))])
    })
    test("off-subnet goes to the gateway's MAC with the far address in the header", () => {
        const iface = makeIface()
        teachArp(iface, GW)
        expect(send(iface, FAR.ip, pattern(10))).toBe(true)
        const [f] = drain(iface)
        expect(decodeEthernet(f).dst).toEqual(GW.mac)
        expect(decodeIpv4(f.subarray(14)).dst).toBe(FAR.ip)
    })
    test("off-subnet without a gateway, to ourselves, to 0.0.0.0 or multicast: no route", () => {
        const iface = makeIface({ gateway: "0.0.0.0" })
        for (const dst of [FAR.ip, US.ip, 0, ip("224.0.0.251")]) expect(send(iface, dst, pattern(4))).toBe(false)
        expect(iface.counters.txDropNoRoute).toBe(4)
        expect(iface.pool.free()).toBe(iface.pool.frames.length) // every frame returned
    })
    test("broadcasts need no ARP; without an address only the limited broadcast is routable", () => {
        const iface = makeIface()
        expect(send(iface, ip("255.255.255.255"), pattern(4))).toBe(true)
        expect(send(iface, ip("10.0.2.255"), pattern(4))).toBe(true)
        const out = drain(iface)
        expect(out.map((f) => decodeEthernet(f).dst)).toEqual([BROADCAST_MAC, BROADCAST_MAC])
        const dhcp = makeIface({ ip: "0.0.0.0", gateway: "0.0.0.0" })
        expect(send(dhcp, ip("255.255.255.255"), pattern(300))).toBe(true)
        const [f] = drain(dhcp)
        expect(decodeIpv4(f.subarray(14)).src).toBe(0)
        expect(send(dhcp, PEER.ip, pattern(4))).toBe(false)
    })
    test("short frames are zero-padded to 60 bytes; no stale bytes from a reused frame", () => {
        const iface = makeIface({ txFrames: 1 })
        teachArp(iface, PEER)
        // Fill the only frame with a big dirty datagram, send it, then reuse it for a tiny one.
        expect(send(iface, PEER.ip, Buffer.alloc(1400, 0xee))).toBe(true)
        drain(iface)
        const f = iface.allocIpv4Frame()!
        f.buf.fill(0xcc)
        f.buf[IPV4_PAYLOAD_OFFSET] = 0x5a
        expect(iface.sendIpv4(f, PEER.ip, 17, 1, 0)).toBe(true)
        const [out] = drain(iface)
        expect(out.length).toBe(60)
        expect(out).toEqual(ethernet({ dst: PEER.mac, src: US.mac, type: 0x0800 }, ipv4Packet({ src: US.ip, dst: PEER.ip, protocol: 17, id: 2, ttl: 64, df: true }, Buffer.from([0x5a]))))
    })
    test("payloads beyond the MTU are refused", () => {
        const iface = makeIface()
        teachArp(iface, PEER)
        const f = iface.allocIpv4Frame()!
        expect(iface.sendIpv4(f, PEER.ip, 17, 1481, 0)).toBe(false)
        expect(iface.counters.txDropTooLong).toBe(1)
        const g = iface.allocIpv4Frame()!
        expect(iface.sendIpv4(g, PEER.ip, 17, 1480, 0)).toBe(true)
        expect(drain(iface)[0].length).toBe(1514)
    })
    test("pool exhaustion: allocation fails and is counted; frames come back after txDone", () => {
        const iface = makeIface({ txFrames: 2 })
        teachArp(iface, PEER)
        const a = iface.allocIpv4Frame()
        const b = iface.allocIpv4Frame()
        expect(a).not.toBeNull()
        expect(b).not.toBeNull()
        expect(iface.allocIpv4Frame()).toBeNull()
        expect(iface.counters.txDropPoolEmpty).toBe(1)
        // A ping now cannot be answered: counted, nothing queued.
        feed(iface, pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip }))
        expect(iface.counters.txDropPoolEmpty).toBe(2)
        expect(iface.counters.icmpEchoRepliesSent).toBe(0)
        // ARP still answers from its reserved frame.
        feed(iface, arpFrame({ op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: US.ip }))
        expect(drain(iface).length).toBe(1)
        iface.releaseFrame(a!)
        expect(iface.sendIpv4(b!, PEER.ip, 17, 0, 0)).toBe(true)
        expect(drain(iface).length).toBe(1)
        expect(iface.pool.free()).toBe(2)
    })
    test("misuse of frames is refused without corrupting the pool", () => {
        const iface = makeIface({ txFrames: 1 })
        teachArp(iface, PEER)
        const f = iface.allocIpv4Frame()!
        expect(iface.sendIpv4(f, PEER.ip, 17, 0, 0)).toBe(true)
        expect(iface.sendIpv4(f, PEER.ip, 17, 0, 0)).toBe(false) // already queued
        iface.releaseFrame(f) // ignored: it is queued
        iface.txDone(f) // ignored: not taken by the pump yet
        expect(drain(iface).length).toBe(1)
        iface.txDone(f) // double txDone ignored
        expect(iface.pool.free()).toBe(1)
        expect(iface.allocIpv4Frame()).toBe(f)
        expect(iface.allocIpv4Frame()).toBeNull()
    })
})

describe("fixed memory", () => {
    test("thousands of pings, ARP requests and sends allocate nothing", () => {
        const iface = makeIface()
        teachArp(iface, PEER)
        const pings = [pattern(0), pattern(56), pattern(1472)].map((data, i) => pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip, seq: i, data }))
        const arp = arpFrame({ op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: US.ip })
        const junk = Buffer.alloc(100, 0x45)
        const before = allocationCount()
        let replies = 0
        for (let i = 0; i < 3000; i++) {
            const p = pings[i % 3]
            iface.input(p, p.length, i)
            iface.input(arp, arp.length, i)
            iface.input(junk, junk.length, i)
            iface.poll(i)
            for (let f = iface.nextTxFrame(); f !== null; f = iface.nextTxFrame()) {
                replies++
                iface.txDone(f)
            }
        }
        expect(allocationCount()).toBe(before)
        expect(replies).toBe(6000)
        expect(iface.counters.icmpEchoRepliesSent).toBe(3000)
    })
})

describe("address configuration", () => {
    test("a /32 or /31 address has no directed broadcast; the limited broadcast still works", () => {
        for (const netmask of ["255.255.255.255", "255.255.255.254"]) {
            const iface = makeIface({ netmask })
            expect(iface.subnetBroadcast).toBe(0xffffffff)
            expect(iface.isForUs(US.ip)).toBe(true)
            expect(iface.isForUs(ip("10.0.2.255"))).toBe(false)
            expect(iface.isBroadcast(US.ip)).toBe(false)
            // An ARP claim of our address is a conflict, not a "bad sender".
            feed(iface, arpFrame({ op: 1, senderMac: PEER.mac, senderIp: US.ip, targetMac: ZERO_MAC, targetIp: US.ip }))
            expect(iface.counters.arpDropConflict).toBe(1)
        }
    })
    test("bad addresses in the configuration are refused at construction", () => {
        expect(() => makeIface({ ip: "10.0.2" })).toThrow(/ip/)
        expect(() => makeIface({ gateway: "10.0.2.300" })).toThrow(/gateway/)
    })
})
