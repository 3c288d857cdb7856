// The ARP cache through the interface: learning (RFC 826), expiry, the table limit and
// its flood resistance, request rate limit, the one pending packet, give-up, refresh.
import { describe, expect, test } from "vitest"
import { Interface, IPV4_PAYLOAD_OFFSET } from "../src/iface/interface"
import { ARP_PENDING, ARP_RESOLVED } from "../src/iface/arp-cache"
import { TX_FREE, TX_PENDING_ARP } from "../src/iface/tx-pool"
import {
    BROADCAST_MAC,
    FAR,
    GW,
    PEER,
    US,
    ZERO_MAC,
    arpFrame,
    decodeArp,
    decodeEthernet,
    decodeIpv4,
    drain,
    feed,
    ip,
    mac,
    makeIface,
    pingFrame,
    teachArp,
    type Mac,
} from "./helpers/frames"

const TTL = 300000
const TIMEOUT = 3000

function entry(iface: Interface, addr: number) {
    return iface.arp.find(addr)
}

function send(iface: Interface, dst: number, now: number, marker = 0): boolean {
    const f = iface.allocIpv4Frame()
    if (f === null) return false
    f.buf[IPV4_PAYLOAD_OFFSET] = marker
    return iface.sendIpv4(f, dst, 17, 1, now)
}

function reply(from: { mac: Mac; ip: number }, ethDst: Mac = US.mac): Buffer {
    return arpFrame({ op: 2, senderMac: from.mac, senderIp: from.ip, targetMac: US.mac, targetIp: US.ip }, ethDst)
}

/** Neighbour n (1..150) at 10.0.2.(100+n). */
function hostN(n: number) {
    return { mac: [2, 0, 0, 0, 1, n], ip: ip(`10.0.2.${100 + n}`) }
}

/** Data frames accounted for: free + queued + waiting for ARP + with the pump + with a sender. */
function poolIsConsistent(iface: Interface): boolean {
    const pending = iface.arp.entries.filter((e) => e.pending !== null).length
    const pool = iface.pool
    return pool.free() === pool.countState(TX_FREE) && pool.countState(TX_PENDING_ARP) === pending
}

describe("learning (RFC 826)", () => {
    test("a request for us creates an entry; requests between others do not", () => {
        const iface = makeIface()
        feed(iface, arpFrame({ op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: ip("10.0.2.99") }))
        expect(iface.arp.count()).toBe(0)
        teachArp(iface, PEER, 5)
        const e = entry(iface, PEER.ip)!
        expect(e.state).toBe(ARP_RESOLVED)
        expect([...e.mac]).toEqual(PEER.mac)
        expect(e.updatedMs).toBe(5)
        expect(iface.counters.arpLearned).toBe(1)
    })
    test("an unsolicited reply addressed to us is learned", () => {
        const iface = makeIface()
        feed(iface, reply(PEER))
        expect(iface.counters.arpRepliesForUs).toBe(1)
        expect([...entry(iface, PEER.ip)!.mac]).toEqual(PEER.mac)
        expect(drain(iface)).toEqual([])
    })
    test("an existing entry is refreshed by any ARP from its owner, even for another target (merge)", () => {
        const iface = makeIface()
        teachArp(iface, PEER, 0)
        const moved = mac("02:00:00:00:00:44")
        feed(iface, arpFrame({ op: 1, senderMac: moved, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: GW.ip }), 100)
        expect([...entry(iface, PEER.ip)!.mac]).toEqual(moved)
        expect(entry(iface, PEER.ip)!.updatedMs).toBe(100)
        expect(iface.counters.arpUpdated).toBe(1)
        expect(iface.counters.arpNotForUs).toBe(1)
    })
    test("gratuitous ARP updates a known address and never creates one", () => {
        const iface = makeIface()
        const garp = (who: { mac: Mac; ip: number }) => arpFrame({ op: 1, senderMac: who.mac, senderIp: who.ip, targetMac: ZERO_MAC, targetIp: who.ip })
        feed(iface, garp(PEER))
        expect(iface.arp.count()).toBe(0)
        expect(iface.counters.arpGratuitous).toBe(1)
        teachArp(iface, GW)
        const failover = { mac: mac("02:00:00:00:00:66"), ip: GW.ip }
        feed(iface, garp(failover), 10)
        expect([...entry(iface, GW.ip)!.mac]).toEqual(failover.mac)
        expect(drain(iface)).toEqual([])
    })
})

describe("resolution", () => {
    test("an unknown next hop gets an exact broadcast request; the packet waits, then leaves with the MAC", () => {
        const iface = makeIface()
        expect(send(iface, PEER.ip, 0, 0x77)).toBe(true)
        const out = drain(iface)
        expect(out).toEqual([arpFrame({ op: 1, senderMac: US.mac, senderIp: US.ip, targetMac: ZERO_MAC, targetIp: PEER.ip }, BROADCAST_MAC)])
        expect(entry(iface, PEER.ip)!.state).toBe(ARP_PENDING)
        feed(iface, reply(PEER), 50)
        const [f] = drain(iface)
        expect(decodeEthernet(f).dst).toEqual(PEER.mac)
        expect(decodeIpv4(f.subarray(14)).payload[0]).toBe(0x77)
        expect(entry(iface, PEER.ip)!.state).toBe(ARP_RESOLVED)
        expect(iface.pool.free()).toBe(iface.pool.frames.length)
    })
    test("an off-subnet destination resolves the gateway, not the destination", () => {
        const iface = makeIface()
        send(iface, FAR.ip, 0)
        const [req] = drain(iface)
        expect(decodeArp(decodeEthernet(req).payload).targetIp).toBe(GW.ip)
        expect(entry(iface, FAR.ip)).toBeNull()
    })
    test("one pending packet per address: the newer replaces the older (counted)", () => {
        const iface = makeIface({ txFrames: 3 })
        send(iface, PEER.ip, 0, 1)
        send(iface, PEER.ip, 10, 2)
        send(iface, PEER.ip, 20, 3)
        expect(iface.counters.arpPendingReplaced).toBe(2)
        expect(iface.counters.arpRequestsSent).toBe(1) // rate limit: new packets do not re-ask
        expect(iface.pool.free()).toBe(2)
        drain(iface)
        feed(iface, reply(PEER), 30)
        const out = drain(iface)
        expect(out.length).toBe(1)
        expect(decodeIpv4(out[0].subarray(14)).payload[0]).toBe(3)
        expect(poolIsConsistent(iface)).toBe(true)
        expect(iface.pool.free()).toBe(3)
    })
    test("requests are repeated once per interval and given up after the timeout; the packet is dropped", () => {
        const iface = makeIface({ txFrames: 2 })
        send(iface, PEER.ip, 0)
        let requests = drain(iface).length
        for (let t = 0; t < TIMEOUT; t += 50) {
            iface.poll(t)
            requests += drain(iface).length
        }
        // At 0, 1000, 2000: three requests in the 3 s before giving up.
        expect(requests).toBe(3)
        expect(iface.counters.arpRequestsSent).toBe(3)
        expect(iface.counters.arpResolveTimeouts).toBe(0)
        iface.poll(TIMEOUT)
        expect(iface.counters.arpResolveTimeouts).toBe(1)
        expect(entry(iface, PEER.ip)).toBeNull()
        expect(iface.pool.free()).toBe(2)
        expect(drain(iface)).toEqual([])
    })
    test("pending packets and a sender holding every data frame do not block ARP (reserved control frame)", () => {
        const iface = makeIface({ txFrames: 3 })
        const held = iface.allocIpv4Frame()! // one data frame is with a sender
        expect(send(iface, hostN(1).ip, 0)).toBe(true)
        expect(send(iface, hostN(2).ip, 0)).toBe(true)
        expect(iface.pool.free()).toBe(0)
        // The first request took the control frame; the second found it queued and no data
        // frame free, so it is retried by the next poll once the pump has returned the frame.
        const first = drain(iface)
        expect(first.length).toBe(1)
        iface.poll(1)
        const retried = drain(iface)
        expect(retried.length).toBe(1)
        const asked = [...first, ...retried].map((f) => decodeArp(decodeEthernet(f).payload).targetIp).sort()
        expect(asked).toEqual([hostN(1).ip, hostN(2).ip].sort())
        feed(iface, reply(hostN(2)), 5)
        feed(iface, reply(hostN(1)), 6)
        expect(drain(iface).length).toBe(2)
        iface.releaseFrame(held)
        expect(iface.pool.free()).toBe(3)
    })
    test("a request that found no frame is retried by poll without waiting an interval", () => {
        const iface = makeIface({ txFrames: 2 })
        // Occupy the control frame with an ARP reply that the pump has not sent yet.
        feed(iface, arpFrame({ op: 1, senderMac: GW.mac, senderIp: GW.ip, targetMac: ZERO_MAC, targetIp: US.ip }))
        const pumpHas = iface.nextTxFrame()!
        const held = iface.allocIpv4Frame()! // a sender holds one data frame
        expect(send(iface, PEER.ip, 0)).toBe(true) // takes the other, waits for ARP
        expect(iface.counters.arpRequestsSent).toBe(0)
        expect(iface.counters.txDropPoolEmpty).toBe(1)
        iface.txDone(pumpHas)
        iface.poll(10)
        expect(iface.counters.arpRequestsSent).toBe(1)
        expect(decodeArp(decodeEthernet(drain(iface)[0]).payload).targetIp).toBe(PEER.ip)
        iface.releaseFrame(held)
    })
    test("at most txFrames - 1 frames wait for ARP: unresolvable askers cannot take every frame", () => {
        const iface = makeIface({ txFrames: 3 })
        // Pings from three on-subnet neighbours that will never answer ARP.
        for (let n = 1; n <= 3; n++) {
            feed(iface, pingFrame({ ethDst: US.mac, ethSrc: hostN(n).mac, src: hostN(n).ip, dst: US.ip }), 0)
            drain(iface)
        }
        expect(iface.pool.countState(TX_PENDING_ARP)).toBe(2)
        expect(iface.counters.txDropArpTableFull).toBe(1) // the third reply: no room to wait
        expect(iface.arp.find(hostN(3).ip)!.state).toBe(ARP_PENDING) // still being resolved
        expect(iface.counters.arpRequestsSent).toBe(3)
        // A frame is left for everything else (TCP) for the whole resolve timeout.
        iface.poll(TIMEOUT - 1)
        drain(iface)
        const f = iface.allocIpv4Frame()
        expect(f).not.toBeNull()
        iface.releaseFrame(f)
        // A newer packet for a parked address still replaces the older one.
        expect(send(iface, hostN(1).ip, 1)).toBe(true)
        expect(iface.counters.arpPendingReplaced).toBe(1)
        expect(poolIsConsistent(iface)).toBe(true)
        iface.poll(TIMEOUT + 1)
        expect(iface.pool.free()).toBe(3)
    })
    test("with one transmit frame nothing is parked, but the address is still resolved", () => {
        const iface = makeIface({ txFrames: 1 })
        expect(send(iface, PEER.ip, 0)).toBe(false)
        expect(iface.pool.free()).toBe(1)
        expect(decodeArp(decodeEthernet(drain(iface)[0]).payload).targetIp).toBe(PEER.ip)
        feed(iface, reply(PEER), 5)
        expect(send(iface, PEER.ip, 6, 9)).toBe(true) // the retry goes straight out
        expect(decodeEthernet(drain(iface)[0]).dst).toEqual(PEER.mac)
    })
})

describe("expiry and refresh", () => {
    test("an entry expires after arpTtlMs and must be resolved again", () => {
        const iface = makeIface()
        teachArp(iface, PEER, 0)
        iface.poll(TTL - 1)
        expect(entry(iface, PEER.ip)!.state).toBe(ARP_RESOLVED)
        iface.poll(TTL)
        expect(entry(iface, PEER.ip)).toBeNull()
        expect(iface.counters.arpExpired).toBe(1)
        send(iface, PEER.ip, TTL + 1)
        expect(decodeEthernet(drain(iface)[0]).type).toBe(0x0806)
    })
    test("an expired entry is not used even before poll removes it", () => {
        const iface = makeIface()
        teachArp(iface, PEER, 0)
        send(iface, PEER.ip, TTL + 5)
        const [f] = drain(iface)
        expect(decodeEthernet(f).type).toBe(0x0806) // a request, not the packet
        expect(entry(iface, PEER.ip)!.state).toBe(ARP_PENDING)
    })
    test("an entry in use is re-confirmed by a unicast request before it expires", () => {
        const iface = makeIface()
        teachArp(iface, PEER, 0)
        send(iface, PEER.ip, TTL - 10000)
        drain(iface)
        iface.poll(TTL - TIMEOUT - 1)
        expect(drain(iface)).toEqual([])
        iface.poll(TTL - TIMEOUT)
        const [req] = drain(iface)
        expect(decodeEthernet(req).dst).toEqual(PEER.mac)
        expect(decodeArp(decodeEthernet(req).payload)).toMatchObject({ op: 1, targetIp: PEER.ip, senderIp: US.ip })
        iface.poll(TTL - TIMEOUT + 10) // rate-limited
        expect(drain(iface)).toEqual([])
        feed(iface, reply(PEER), TTL - 100)
        iface.poll(TTL + 1000)
        expect(entry(iface, PEER.ip)!.state).toBe(ARP_RESOLVED)
        expect(entry(iface, PEER.ip)!.updatedMs).toBe(TTL - 100)
    })
    test("an entry never used is not refreshed", () => {
        const iface = makeIface()
        teachArp(iface, PEER, 0)
        for (let t = 0; t <= TTL; t += 500) iface.poll(t)
        expect(drain(iface)).toEqual([])
        expect(entry(iface, PEER.ip)).toBeNull()
    })
})

describe("table limit", () => {
    test("a flood of requests for us from many senders stays bounded and keeps the peers we use", () => {
        const iface = makeIface({ arpEntries: 4 })
        teachArp(iface, GW, 0)
        teachArp(iface, PEER, 0)
        send(iface, PEER.ip, 1) // PEER is in use
        drain(iface)
        for (let n = 1; n <= 150; n++) teachArp(iface, hostN(n), 10 + n)
        expect(iface.arp.count()).toBe(4)
        expect(entry(iface, GW.ip)!.state).toBe(ARP_RESOLVED) // protected (gateway)
        expect(entry(iface, PEER.ip)!.state).toBe(ARP_RESOLVED) // in use
        expect(iface.counters.arpRequestsForUs).toBe(152) // every asker still got its answer
        expect(iface.counters.arpRepliesSent).toBe(152)
        // Only never-used entries churned.
        expect(entry(iface, hostN(150).ip)).not.toBeNull()
        expect(entry(iface, hostN(1).ip)).toBeNull()
    })
    test("when we need a slot, the least recently used entry goes, never the fresh gateway", () => {
        const iface = makeIface({ arpEntries: 3 })
        teachArp(iface, GW, 0)
        teachArp(iface, hostN(1), 0)
        teachArp(iface, hostN(2), 0)
        send(iface, hostN(2).ip, 5)
        send(iface, hostN(1).ip, 6)
        send(iface, GW.ip, 1) // gateway is the least recently used
        drain(iface)
        send(iface, PEER.ip, 10)
        expect(iface.counters.arpEvictions).toBe(1)
        expect(entry(iface, GW.ip)).not.toBeNull()
        expect(entry(iface, hostN(2).ip)).toBeNull()
        expect(entry(iface, hostN(1).ip)).not.toBeNull()
        expect(entry(iface, PEER.ip)!.state).toBe(ARP_PENDING)
    })
    test("pending entries are never evicted: a full table of them refuses new destinations (counted)", () => {
        const iface = makeIface({ arpEntries: 2, txFrames: 3 })
        expect(send(iface, hostN(1).ip, 0)).toBe(true)
        expect(send(iface, hostN(2).ip, 0)).toBe(true)
        drain(iface) // the two requests leave; two data frames stay parked
        expect(send(iface, hostN(3).ip, 0)).toBe(false)
        expect(iface.counters.txDropArpTableFull).toBe(1)
        expect(iface.pool.free()).toBe(1) // the refused frame came back
        // Learning from a request for us cannot take a pending slot either, but is still answered.
        teachArp(iface, PEER, 1)
        expect(entry(iface, PEER.ip)).toBeNull()
        expect(iface.counters.arpRepliesSent).toBe(1)
    })
    test("an expired gateway entry may be reused", () => {
        const iface = makeIface({ arpEntries: 1 })
        teachArp(iface, GW, 0)
        send(iface, PEER.ip, TTL + 1)
        expect(entry(iface, GW.ip)).toBeNull()
        expect(entry(iface, PEER.ip)!.state).toBe(ARP_PENDING)
    })
})

describe("address changes", () => {
    test("setAddress flushes the cache and returns pending frames to the pool", () => {
        const iface = makeIface()
        teachArp(iface, GW)
        send(iface, PEER.ip, 0)
        expect(iface.pool.free()).toBe(iface.pool.frames.length - 1)
        iface.setAddress(ip("192.168.1.10"), ip("255.255.255.0"), ip("192.168.1.1"))
        expect(iface.arp.count()).toBe(0)
        expect(iface.pool.free()).toBe(iface.pool.frames.length)
        expect(iface.arp.protectedIp).toBe(ip("192.168.1.1"))
        expect(iface.subnetBroadcast).toBe(ip("192.168.1.255"))
    })
})

describe("ARP announcement (RFC 5227 section 2.3)", () => {
    test("broadcasts a request with our address as sender and target, padded to 60 bytes", () => {
        const iface = makeIface()
        expect(iface.announce()).toBe(true)
        const frames = drain(iface)
        expect(frames.length).toBe(1)
        expect(frames[0].length).toBe(60)
        expect(decodeEthernet(frames[0]).dst).toEqual(BROADCAST_MAC)
        const a = decodeArp(decodeEthernet(frames[0]).payload)
        expect(a.op).toBe(1)
        expect(a.senderMac).toEqual(US.mac)
        expect(a.senderIp).toBe(US.ip)
        expect(a.targetIp).toBe(US.ip)
        expect(a.targetMac).toEqual(ZERO_MAC)
        expect(iface.counters.arpAnnouncementsSent).toBe(1)
    })
    test("says nothing without an address", () => {
        const iface = makeIface({ ip: "0.0.0.0" })
        expect(iface.announce()).toBe(false)
        expect(drain(iface).length).toBe(0)
    })
})
