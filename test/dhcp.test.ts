// The DHCP client's state machine against a scripted server, on a virtual clock: the test
// calls poll(now), takes what the interface queued, and feeds the server's replies back.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest"
import { Interface } from "../src/iface/interface"
import { UdpLayer } from "../src/udp/udp-layer"
import {
    DHCP_BOUND, DHCP_INIT, DHCP_REBINDING, DHCP_REBOOTING, DHCP_RENEWING, DHCP_REQUESTING, DHCP_SELECTING, DHCP_STATIC, DhcpClient, DhcpConfig,
} from "../src/dhcp/dhcp-client"
import { Mac, arpFrame, checksum, decodeArp, decodeEthernet, decodeIpv4, drain, feed, ip, ipv4Frame, makeIface, mac } from "./helpers/frames"
import { allocationCount } from "../src/util/bytes"

const CLIENT_MAC = mac("02:00:00:00:00:02")
const SERVER = { mac: mac("02:00:00:00:00:67"), ip: ip("10.9.0.1") }
const OFFERED = ip("10.9.0.50")
const ROUTER = ip("10.9.0.254")

/** What the client sent, decoded independently of src/wire/dhcp. */
interface Sent {
    ethDst: Mac
    src: number
    dst: number
    sport: number
    dport: number
    udpLen: number
    checksumOk: boolean
    xid: number
    secs: number
    flags: number
    ciaddr: number
    chaddr: Mac
    type: number
    opts: Map<number, Buffer>
}

function decodeDhcp(frame: Buffer): Sent | null {
    const eth = decodeEthernet(frame)
    if (eth.type !== 0x0800) return null
    const ipv4 = decodeIpv4(eth.payload)
    const u = ipv4.payload
    const p = Buffer.alloc(12)
    p.writeUInt32BE(ipv4.src, 0)
    p.writeUInt32BE(ipv4.dst, 4)
    p[9] = 17
    p.writeUInt16BE(u.length, 10)
    const d = u.subarray(8)
    expect(d.readUInt32BE(236)).toBe(0x63825363)
    const opts = new Map<number, Buffer>()
    for (let i = 240; i < d.length && d[i] !== 255; ) {
        if (d[i] === 0) {
            i++
            continue
        }
        opts.set(d[i], d.subarray(i + 2, i + 2 + d[i + 1]))
        i += 2 + d[i + 1]
    }
    return {
        ethDst: eth.dst,
        src: ipv4.src,
        dst: ipv4.dst,
        sport: u.readUInt16BE(0),
        dport: u.readUInt16BE(2),
        udpLen: u.readUInt16BE(4),
        checksumOk: checksum(Buffer.concat([p, u])) === 0,
        xid: d.readUInt32BE(4),
        secs: d.readUInt16BE(8),
        flags: d.readUInt16BE(10),
        ciaddr: d.readUInt32BE(12),
        chaddr: [...d.subarray(28, 34)],
        type: opts.get(53)?.[0] ?? 0,
        opts,
    }
}

interface ReplyOpts {
    xid: number
    yiaddr?: number
    lease?: number
    t1?: number
    t2?: number
    serverId?: number
    chaddr?: Mac
    sport?: number
    dst?: number
}

const be = (x: number) => [(x >>> 24) & 255, (x >>> 16) & 255, (x >>> 8) & 255, x & 255]

/** A server reply as a frame to the client's MAC (unicast to yiaddr, as dnsmasq does without the broadcast flag). */
function serverReply(type: number, o: ReplyOpts): Buffer {
    const d = Buffer.alloc(240)
    d[0] = 2
    d[1] = 1
    d[2] = 6
    d.writeUInt32BE(o.xid >>> 0, 4)
    d.writeUInt32BE((o.yiaddr ?? OFFERED) >>> 0, 16)
    Buffer.from(o.chaddr ?? CLIENT_MAC).copy(d, 28)
    d.writeUInt32BE(0x63825363, 236)
    const opts = [53, 1, type, 54, 4, ...be(o.serverId ?? SERVER.ip)]
    if (type !== 6) {
        opts.push(1, 4, 255, 255, 255, 0, 3, 4, ...be(ROUTER), 6, 4, 8, 8, 4, 4)
        if (o.lease !== undefined) opts.push(51, 4, ...be(o.lease))
        if (o.t1 !== undefined) opts.push(58, 4, ...be(o.t1))
        if (o.t2 !== undefined) opts.push(59, 4, ...be(o.t2))
    }
    opts.push(255)
    const data = Buffer.concat([d, Buffer.from(opts)])
    const dst = o.dst ?? (type === 6 ? 0xffffffff : o.yiaddr ?? OFFERED)
    const u = Buffer.alloc(8 + data.length)
    u.writeUInt16BE(o.sport ?? 67, 0)
    u.writeUInt16BE(68, 2)
    u.writeUInt16BE(u.length, 4)
    data.copy(u, 8)
    const p = Buffer.alloc(12)
    p.writeUInt32BE(SERVER.ip, 0)
    p.writeUInt32BE(dst >>> 0, 4)
    p[9] = 17
    p.writeUInt16BE(u.length, 10)
    u.writeUInt16BE(checksum(Buffer.concat([p, u])) || 0xffff, 6)
    return ipv4Frame(type === 6 ? [255, 255, 255, 255, 255, 255] : CLIENT_MAC, SERVER.mac, { src: SERVER.ip, dst, protocol: 17 }, u)
}

class Rig {
    iface: Interface
    udp: UdpLayer
    client: DhcpClient
    now = 0
    addresses: number[] = []
    /** Every frame the client sent, with the time. */
    log: { t: number; f: Buffer }[] = []

    constructor(cfg: DhcpConfig = {}) {
        this.iface = makeIface({ mac: CLIENT_MAC, ip: "0.0.0.0", netmask: "0.0.0.0", gateway: "0.0.0.0" })
        this.udp = new UdpLayer(this.iface, 2)
        this.client = new DhcpClient(this.udp, cfg)
        this.client.onAddress = (a) => this.addresses.push(a)
    }

    /** Polls at `now` and returns the DHCP messages sent (ARP frames go to the log only). */
    poll(now = this.now): Sent[] {
        this.now = now
        this.client.poll(now)
        return this.take()
    }

    take(): Sent[] {
        const out: Sent[] = []
        for (const f of drain(this.iface)) {
            this.log.push({ t: this.now, f })
            const m = decodeDhcp(f)
            if (m !== null) out.push(m)
        }
        return out
    }

    /** Runs the clock in 100 ms steps until the client sends something, or `until`. */
    runUntilSend(until: number): Sent[] {
        while (this.now < until) {
            const next = Math.min(until, Math.max(this.now + 1, Math.min(this.client.pollAt(), this.now + 100)))
            const s = this.poll(next)
            if (s.length > 0) return s
        }
        return []
    }

    reply(frame: Buffer): Sent[] {
        feed(this.iface, frame, this.now)
        return this.take()
    }

    /** DISCOVER → OFFER → REQUEST → ACK. */
    bind(lease = 100, t1?: number, t2?: number): void {
        const [disc] = this.poll(this.now)
        const [req] = this.reply(serverReply(2, { xid: disc.xid, lease }))
        this.reply(serverReply(5, { xid: req.xid, lease, t1, t2 }))
        expect(this.client.state).toBe(DHCP_BOUND)
    }
}

let seed = 1
beforeEach(() => {
    seed = 1
    // A repeatable Math.random: xids differ, back-off jitter covers the whole ±1 s.
    vi.spyOn(Math, "random").mockImplementation(() => {
        seed = (seed * 16807) % 2147483647
        return seed / 2147483647
    })
})
afterEach(() => {
    vi.restoreAllMocks()
})

describe("DHCP client (RFC 2131)", () => {
    test("DISCOVER → OFFER → REQUEST → ACK binds the address, mask, router, DNS", () => {
        const r = new Rig()
        expect(r.client.state).toBe(DHCP_INIT)
        const [disc] = r.poll(1000)
        expect(disc).toMatchObject({ type: 1, src: 0, dst: 0xffffffff, sport: 68, dport: 67, ciaddr: 0, chaddr: CLIENT_MAC, flags: 0, checksumOk: true })
        expect(disc.ethDst).toEqual([255, 255, 255, 255, 255, 255])
        expect(disc.udpLen - 8).toBeGreaterThanOrEqual(300) // RFC 1542 minimum
        expect([...disc.opts.get(55)]).toEqual([1, 3, 6])
        expect(r.client.state).toBe(DHCP_SELECTING)
        r.now = 1500
        const [req] = r.reply(serverReply(2, { xid: disc.xid, lease: 100 }))
        expect(req).toMatchObject({ type: 3, src: 0, dst: 0xffffffff, xid: disc.xid, ciaddr: 0, checksumOk: true })
        expect(req.opts.get(50).readUInt32BE(0)).toBe(OFFERED)
        expect(req.opts.get(54).readUInt32BE(0)).toBe(SERVER.ip)
        expect(r.client.state).toBe(DHCP_REQUESTING)
        expect(r.iface.ip).toBe(0)
        r.now = 1600
        r.reply(serverReply(5, { xid: req.xid, lease: 100 }))
        expect(r.client.state).toBe(DHCP_BOUND)
        expect([r.iface.ip, r.iface.netmask, r.iface.gateway]).toEqual([OFFERED, 0xffffff00, ROUTER])
        expect([r.client.dns, r.client.server]).toEqual([0x08080404, SERVER.ip])
        expect(r.addresses).toEqual([OFFERED])
        // Lease times count from when the REQUEST was sent (section 4.4.1); T1/T2 default to 0.5/0.875.
        expect([r.client.t1At, r.client.t2At, r.client.expireAt]).toEqual([1500 + 50000, 1500 + 87500, 1500 + 100000])
        expect(r.client.pollAt()).toBe(51500)
        // The new binding is announced (gratuitous ARP).
        const arp = decodeArp(decodeEthernet(r.log[r.log.length - 1].f).payload)
        expect([arp.senderIp, arp.targetIp]).toEqual([OFFERED, OFFERED])
    })

    test("DISCOVER is retransmitted after 4, 8, 16, 32, 64, 64 s ±1 s, with a new xid each time", () => {
        const r = new Rig()
        const times: number[] = []
        const xids = new Set<number>()
        for (let i = 0; i < 7; i++) {
            const [d] = r.runUntilSend(1e6)
            expect(d.type).toBe(1)
            times.push(r.now)
            xids.add(d.xid)
        }
        const gaps = times.slice(1).map((t, i) => t - times[i])
        const want = [4000, 8000, 16000, 32000, 64000, 64000]
        gaps.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThanOrEqual(1100))
        expect(gaps.some((g, i) => g !== want[i])).toBe(true) // randomised
        expect(xids.size).toBe(7)
        expect(r.client.state).toBe(DHCP_SELECTING)
    })

    test("ignores replies with another xid, MAC or source port, malformed ones, and ACKs while selecting", () => {
        const r = new Rig()
        const [disc] = r.poll(0)
        expect(r.reply(serverReply(2, { xid: disc.xid + 1, lease: 100 }))).toEqual([])
        expect(r.reply(serverReply(2, { xid: disc.xid, chaddr: mac("02:00:00:00:00:99"), lease: 100 }))).toEqual([])
        expect(r.reply(serverReply(2, { xid: disc.xid, sport: 1067, lease: 100 }))).toEqual([])
        expect(r.reply(serverReply(5, { xid: disc.xid, lease: 100 }))).toEqual([])
        const broken = serverReply(2, { xid: disc.xid, lease: 100 })
        broken[14 + 20 + 8 + 238] ^= 0xff // the magic cookie (UDP checksum fixed below)
        broken.writeUInt16BE(0, 14 + 20 + 6)
        expect(r.reply(broken)).toEqual([])
        expect(r.client.dropped).toBe(5)
        expect(r.client.state).toBe(DHCP_SELECTING)
        expect(r.iface.ip).toBe(0)
    })

    test("an unanswered REQUEST falls back to DISCOVER; a NAK restarts at once", () => {
        const r = new Rig()
        const [disc] = r.poll(0)
        r.reply(serverReply(2, { xid: disc.xid, lease: 100 }))
        const sent: number[] = []
        for (let i = 0; i < 4; i++) sent.push(r.runUntilSend(1e6)[0].type)
        // Three retransmitted REQUESTs, then a new DISCOVER.
        expect(sent).toEqual([3, 3, 3, 1])
        const disc2 = decodeDhcp(r.log[r.log.length - 1].f)
        const [req] = r.reply(serverReply(2, { xid: disc2.xid, lease: 100 }))
        r.reply(serverReply(6, { xid: req.xid }))
        expect(r.client.state).toBe(DHCP_INIT)
        const [again] = r.poll(r.now)
        expect(again.type).toBe(1)
        expect(r.addresses).toEqual([])
    })

    test("renews by unicast at T1, and a renewal ACK extends the lease", () => {
        const r = new Rig()
        r.bind(100)
        expect(r.runUntilSend(50000 - 1)).toEqual([])
        // At T1 the REQUEST is parked on ARP for the server: answer, then it leaves.
        r.poll(50000)
        const arpReq = decodeArp(decodeEthernet(r.log[r.log.length - 1].f).payload)
        expect([arpReq.op, arpReq.targetIp]).toEqual([1, SERVER.ip])
        expect(r.client.state).toBe(DHCP_RENEWING)
        const [req] = r.reply(arpFrame({ op: 2, senderMac: SERVER.mac, senderIp: SERVER.ip, targetMac: CLIENT_MAC, targetIp: OFFERED }))
        expect(req).toMatchObject({ type: 3, src: OFFERED, dst: SERVER.ip, ciaddr: OFFERED, checksumOk: true })
        expect(req.ethDst).toEqual(SERVER.mac)
        expect(req.opts.has(50) || req.opts.has(54)).toBe(false) // section 4.3.2: not in RENEWING
        r.now = 50200
        r.reply(serverReply(5, { xid: req.xid, lease: 100 }))
        expect(r.client.state).toBe(DHCP_BOUND)
        expect(r.client.expireAt).toBe(150000)
        expect(r.addresses).toEqual([OFFERED]) // unchanged address: no second event
    })

    test("T1/T2 from the server; rebinding by broadcast at T2; a rebinding ACK keeps the lease", () => {
        const r = new Rig()
        r.bind(120, 10, 20)
        expect(r.client.pollAt()).toBe(10000)
        const [m] = r.runUntilSend(1e6)
        // The first renewal is parked on ARP (never answered): it is not a DHCP send; its retry is at T2.
        expect(m.type).toBe(3)
        expect(m.dst).toBe(0xffffffff)
        expect(r.now).toBe(20000)
        expect(r.client.state).toBe(DHCP_REBINDING)
        expect(m.ciaddr).toBe(OFFERED)
        r.reply(serverReply(5, { xid: m.xid, lease: 120, t1: 10, t2: 20, dst: OFFERED }))
        expect(r.client.state).toBe(DHCP_BOUND)
        expect(r.client.t1At).toBe(30000)
    })

    test("lease expiry drops the address and starts over", () => {
        const r = new Rig()
        r.bind(100)
        const sends: { t: number; s: number; dst: number }[] = []
        while (r.client.state !== DHCP_SELECTING) {
            const s = r.runUntilSend(1e6)
            for (const m of s) sends.push({ t: r.now, s: r.client.state, dst: m.dst })
        }
        // Renewal at T1 went to ARP, rebinding at T2 (87.5 s) broadcast, expiry at 100 s: DISCOVER.
        expect(sends).toEqual([
            { t: 87500, s: DHCP_REBINDING, dst: 0xffffffff },
            { t: 100000, s: DHCP_SELECTING, dst: 0xffffffff },
        ])
        expect(r.iface.ip).toBe(0)
        expect(r.addresses).toEqual([OFFERED, 0])
    })

    test("a NAK while renewing drops the address", () => {
        const r = new Rig()
        r.bind(100)
        r.now = 87500
        const [m] = r.poll(87500)
        expect(r.client.state).toBe(DHCP_REBINDING)
        r.reply(serverReply(6, { xid: m.xid }))
        expect(r.iface.ip).toBe(0)
        expect(r.client.state).toBe(DHCP_INIT)
        expect(r.addresses).toEqual([OFFERED, 0])
    })

    test("static fallback after N unanswered DISCOVERs, and static override", () => {
        const cfg = { dhcpMaxDiscovers: 3, ip: "192.168.7.2", netmask: "255.255.0.0", gateway: "192.168.7.1" }
        const r = new Rig(cfg)
        let discovers = 0
        while (r.client.state !== DHCP_STATIC && r.now < 1e6) discovers += r.runUntilSend(1e6).length
        expect(discovers).toBe(3)
        expect(r.now).toBeGreaterThanOrEqual(4000 + 8000 + 16000 - 3000)
        expect([r.iface.ip, r.iface.netmask, r.iface.gateway]).toEqual([ip("192.168.7.2"), 0xffff0000, ip("192.168.7.1")])
        expect(r.addresses).toEqual([ip("192.168.7.2")])
        expect(r.client.pollAt()).toBeGreaterThan(1e12)
        const o = new Rig({ ...cfg, dhcpStaticOverride: true })
        expect(o.poll(0)).toEqual([])
        expect(o.client.state).toBe(DHCP_STATIC)
        expect(o.iface.ip).toBe(ip("192.168.7.2"))
        // Without a static address, dhcpMaxDiscovers does not stop discovery.
        const n = new Rig({ dhcpMaxDiscovers: 1 })
        n.runUntilSend(1e6)
        n.runUntilSend(1e6)
        expect(n.client.state).toBe(DHCP_SELECTING)
    })

    test("a whole lease cycle allocates nothing", () => {
        const r = new Rig()
        const before = allocationCount()
        r.bind(100)
        r.poll(87500)
        r.poll(100000)
        expect(allocationCount()).toBe(before)
    })

    test("chains the next timers (TCP) through poll/pollAt", () => {
        const r = new Rig()
        let polled = 0
        r.client.next = { poll: () => void polled++, pollAt: () => 5 }
        r.client.poll(0)
        expect(polled).toBe(1)
        expect(r.client.pollAt()).toBe(5)
    })
})

describe("DHCP client: the link comes back (RFC 2131 section 3.2, INIT-REBOOT)", () => {
    /** Bound to OFFERED with a 1000 s lease, then the link comes back at 30 s: the REQUEST it sends. */
    function rebooted(): { r: Rig; req: Sent } {
        const r = new Rig()
        r.bind(1000)
        r.now = 30000
        r.client.linkRestored(r.now)
        const sent = r.take()
        expect(sent.length).toBe(1)
        expect(r.client.state).toBe(DHCP_REBOOTING)
        return { r, req: sent[0] }
    }

    test("with a lease: a broadcast REQUEST naming our address, no server id, ciaddr 0; the ACK renews the lease", () => {
        const { r, req } = rebooted()
        // IP source: the leased address, still ours until the lease ends (section 4.1's 0.0.0.0
        // is for a client that has no address yet).
        expect(req).toMatchObject({ type: 3, src: OFFERED, dst: 0xffffffff, ciaddr: 0, checksumOk: true })
        expect(req.ethDst).toEqual([255, 255, 255, 255, 255, 255])
        expect([...req.opts.get(50)]).toEqual(be(OFFERED)) // requested IP: the lease we hold
        expect(req.opts.has(54)).toBe(false) // section 4.3.2: MUST NOT name a server in INIT-REBOOT
        expect(r.iface.ip).toBe(OFFERED) // the address stays usable while we ask
        r.reply(serverReply(5, { xid: req.xid, lease: 1000 }))
        expect(r.client.state).toBe(DHCP_BOUND)
        expect(r.client.expireAt).toBe(30000 + 1000000) // counted from this REQUEST
        expect(r.client.leases).toBe(2)
        expect(r.addresses).toEqual([OFFERED]) // same address: no second event
    })

    test("a NAK (another network) drops the address and starts over with a DISCOVER", () => {
        const { r, req } = rebooted()
        r.reply(serverReply(6, { xid: req.xid }))
        expect(r.client.state).toBe(DHCP_INIT)
        expect(r.iface.ip).toBe(0)
        expect(r.addresses).toEqual([OFFERED, 0])
        const [disc] = r.poll(r.now)
        expect(disc.type).toBe(1)
    })

    test("no answer: REQUESTs back off, then the old lease is kept while it lasts", () => {
        const { r } = rebooted()
        const types: number[] = []
        // (T1 is at 500 s: nothing else is due before 200 s.)
        while (r.client.state === DHCP_REBOOTING && r.now < 200000) for (const m of r.runUntilSend(200000)) types.push(m.type)
        expect(types).toEqual([3, 3, 3]) // REQUEST_TRIES = 4 in all
        expect(r.client.state).toBe(DHCP_BOUND)
        expect(r.iface.ip).toBe(OFFERED)
        expect(r.client.expireAt).toBe(1000000) // the old lease, unchanged
        expect(r.now).toBeLessThan(r.client.t1At) // renewal at T1 as before
        expect(r.addresses).toEqual([OFFERED])
    })

    test("no answer and the lease ran out meanwhile: the address goes, DISCOVER", () => {
        const r = new Rig()
        r.bind(40)
        r.now = 30000
        r.client.linkRestored(r.now)
        r.take()
        while (r.client.state !== DHCP_SELECTING && r.now < 1e6) r.runUntilSend(1e6)
        expect(r.client.state).toBe(DHCP_SELECTING)
        expect(r.iface.ip).toBe(0)
        expect(r.addresses).toEqual([OFFERED, 0])
        expect(r.now).toBe(40000) // at the lease's end (section 4.4.5), not after the REQUEST back-off
    })

    test("the confirmed address is announced after the ACK, not when the link comes back", () => {
        const isAnnouncement = (f: Buffer) => f.readUInt16BE(12) === 0x0806 && f.readUInt32BE(28) === f.readUInt32BE(38)
        const { r, req } = rebooted()
        expect(r.log.filter((x) => isAnnouncement(x.f)).length).toBe(1) // the one when the lease was first bound
        const since = r.log.length
        r.reply(serverReply(5, { xid: req.xid, lease: 1000 }))
        const after = r.log.slice(since).filter((x) => isAnnouncement(x.f))
        expect(after.length).toBe(1)
        expect(decodeArp(decodeEthernet(after[0].f).payload).senderIp).toBe(OFFERED)
    })

    test("while searching: DISCOVER at once instead of waiting out the back-off; a static override stays", () => {
        const r = new Rig()
        for (let i = 0; i < 4; i++) r.runUntilSend(1e6) // DISCOVERs at 0, ~4, ~12, ~28 s
        const nextDue = r.client.pollAt()
        expect(nextDue - r.now).toBeGreaterThan(20000)
        r.now += 1000
        r.client.linkRestored(r.now)
        const [disc] = r.poll(r.now)
        expect(disc.type).toBe(1)
        expect(r.client.pollAt() - r.now).toBeLessThanOrEqual(5000) // back-off starts again at 4 s
        const o = new Rig({ ip: "192.168.7.2", dhcpStaticOverride: true })
        o.poll(0)
        o.client.linkRestored(1000)
        expect(o.poll(1000)).toEqual([])
        expect(o.client.state).toBe(DHCP_STATIC)
        expect(o.iface.ip).toBe(ip("192.168.7.2"))
    })

    test("after the static fallback: DHCP again when the link comes back, keeping the fallback address meanwhile", () => {
        const FALLBACK = ip("192.168.7.2")
        const r = new Rig({ dhcpMaxDiscovers: 2, ip: "192.168.7.2" })
        while (r.client.state !== DHCP_STATIC) r.runUntilSend(1e6)
        expect(r.iface.ip).toBe(FALLBACK)
        r.client.linkRestored(r.now)
        const [disc] = r.poll(r.now)
        expect(disc.type).toBe(1)
        expect(r.client.state).toBe(DHCP_SELECTING)
        // Nobody answers: back to the fallback, which never went away (connections on it live on).
        for (let i = 0; i < 10 && r.client.state !== DHCP_STATIC; i++) {
            expect(r.iface.ip).toBe(FALLBACK)
            r.runUntilSend(r.now + 100000)
        }
        expect(r.client.state).toBe(DHCP_STATIC)
        expect(r.addresses).toEqual([FALLBACK])
        // The link comes back again, and this time a server answers: its lease replaces the fallback.
        r.client.linkRestored(r.now)
        const [d2] = r.poll(r.now)
        expect(d2.flags).toBe(0x8000) // broadcast replies, please: the fallback address would refuse OFFERED
        const [req] = r.reply(serverReply(2, { xid: d2.xid, lease: 100, dst: 0xffffffff }))
        expect(req.flags).toBe(0x8000)
        r.reply(serverReply(5, { xid: req.xid, lease: 100, dst: 0xffffffff }))
        expect(r.client.state).toBe(DHCP_BOUND)
        expect(r.addresses).toEqual([FALLBACK, OFFERED])
    })
})
