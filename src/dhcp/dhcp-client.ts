// DHCP client (RFC 2131 section 4.4), synchronous like the rest of the stack: the pump
// calls poll(now) when pollAt() is due, and replies arrive through the UDP layer on
// port 68. One deadline (`at`) drives every state:
//   INIT       send DISCOVER (new xid) → SELECTING
//   SELECTING  first valid OFFER → REQUEST (broadcast, same xid) → REQUESTING;
//              timeout: DISCOVER again, or the static address after dhcpMaxDiscovers
//   REQUESTING ACK → BOUND; NAK or REQUEST_TRIES timeouts → INIT
//   BOUND      at T1 → RENEWING: REQUEST unicast to the server (ciaddr = our address)
//   RENEWING   at T2 → REBINDING: REQUEST broadcast; ACK → BOUND, NAK → INIT
//   REBINDING  lease expiry → drop the address (0.0.0.0) → INIT
//   REBOOTING  (the link came back while we held a lease: INIT-REBOOT, section 3.2) REQUEST
//              broadcast naming our address, no server id; ACK → BOUND (and announce it),
//              NAK → INIT, REQUEST_TRIES timeouts → BOUND again on the old lease
// In every state that holds a lease, its expiry drops the address → INIT (section 4.4.5).
// The link coming back also restarts a search in progress, or leaves the static fallback
// for a search (the fallback address stays in use until a lease replaces it), at once
// instead of waiting out a back-off that grew while the cable was out.
// Retransmissions (section 4.1): 4, 8, 16, 32, 64, 64 ... s, each ±1 s at random; in
// RENEWING/REBINDING half the time left to T2/expiry, at least 60 s (section 4.4.5).
// Messages are built in a pool frame and replies parsed in place: nothing is allocated
// per packet. Gap: no ARP probe of the offered address (so no DECLINE).

import { bytesEqual, fillBytes } from "../util/bytes"
import { zeroFields } from "../util/zero-fields"
import { IPV4_BROADCAST, parseIpv4 } from "../wire/ipv4"
import {
    DHCPACK, DHCPDISCOVER, DHCPNAK, DHCPOFFER, DHCPREQUEST, DHCP_CLIENT_PORT, DHCP_MIN_LEN, DHCP_SERVER_PORT,
    DhcpRepr, V_DNS, V_LEASE, V_MASK, V_ROUTER, V_SERVER_ID, V_T1, V_T2, OPT_MESSAGE_TYPE, OPT_REQUESTED_IP, OPT_SERVER_ID, dhcpEmitHeader, dhcpParse, dhcpPutOption,
} from "../wire/dhcp"
import { UDP_DATA_OFFSET, UdpHandler, UdpLayer } from "../udp/udp-layer"
import { PumpTimers } from "../iface/pump"

export const DHCP_INIT = 0
export const DHCP_SELECTING = 1
export const DHCP_REQUESTING = 2
export const DHCP_BOUND = 3
export const DHCP_RENEWING = 4
export const DHCP_REBINDING = 5
export const DHCP_STATIC = 6
export const DHCP_REBOOTING = 7

function newXid(): number {
    return (Math.random() * 4294967296) >>> 0
}

/** REQUESTs sent in REQUESTING before starting over with a DISCOVER. */
const REQUEST_TRIES = 4
const NEVER = 1e15

/** Named as in StackConfig, so the stack passes its config as it is (no object literal: code size). */
export interface DhcpConfig {
    /** Unanswered DISCOVERs before the static address is used (0 = never give up). */
    dhcpMaxDiscovers?: number
    /** The static configuration, dotted quads; used after dhcpMaxDiscovers, or at once with dhcpStaticOverride. */
    ip?: string
    netmask?: string
    gateway?: string
    dhcpStaticOverride?: boolean
}

/** @devsWhenUsed */
export class DhcpClient implements UdpHandler, PumpTimers {
    udp: UdpLayer
    /** Timers polled along with ours (the TCP layer), so the client can be the pump's `timers`; null = none. */
    next: PumpTimers
    state: number
    /** The lease (valid while BOUND, RENEWING, REBINDING): address, mask, router, DNS, server. */
    ip: number
    mask: number
    router: number
    dns: number
    server: number
    /** Absolute times (ms) of T1, T2 and expiry. */
    t1At: number
    t2At: number
    expireAt: number
    /** Called with the new address whenever it changes (0 = dropped). */
    onAddress: (ip: number) => void
    /** Replies ignored (wrong xid/port/MAC, malformed, unexpected type), and leases taken. */
    dropped: number
    leases: number
    // From the DhcpConfig, copied: the stack lets its config go once it is built.
    private staticIp: string
    private staticMask: string
    private staticGateway: string
    private maxDiscovers: number
    private staticOverride: boolean
    private m: DhcpRepr
    /** (xid, since and reqAt are set before they are read: no initialisers, to save code.) */
    private xid: number
    private at: number
    private tries: number
    private discovers: number
    /** Start of this acquisition or renewal (the secs field), and of this REQUEST cycle (the lease start). */
    private since: number
    private reqAt: number

    constructor(udp: UdpLayer, cfg: DhcpConfig) {
        this.udp = udp
        this.staticIp = cfg.ip
        this.staticMask = cfg.netmask
        this.staticGateway = cfg.gateway
        this.maxDiscovers = cfg.dhcpMaxDiscovers
        this.staticOverride = cfg.dhcpStaticOverride
        this.m = new DhcpRepr()
        this.onAddress = null
        this.next = null
        zeroFields<DhcpClient>(this, "dropped", "leases", "ip", "mask", "router", "dns", "server")
        this.restart(0)
        udp.bind(DHCP_CLIENT_PORT, this)
    }

    /** When poll() next has work (absolute ms). */
    pollAt(): number {
        const n = this.next
        return n === null ? this.at : Math.min(this.at, n.pollAt())
    }

    /** Runs the next timers, then ours when due. */
    poll(now: number): void {
        if (this.next !== null) this.next.poll(now)
        if (now >= this.at) this.tick(now)
    }

    private tick(now: number): void {
        const s = this.state
        if (s >= DHCP_BOUND && s !== DHCP_STATIC && now >= this.expireAt) {
            // The lease ran out (also while REBOOTING asked for it): section 4.4.5, start over.
            this.setAddress(0, 0, 0)
            this.restart(now)
            this.tick(now)
        } else if (s === DHCP_INIT && this.staticOverride) {
            this.useStatic()
        } else if (s === DHCP_INIT || s === DHCP_SELECTING) {
            if (this.staticIp && this.maxDiscovers > 0 && this.discovers >= this.maxDiscovers) {
                this.useStatic()
                return
            }
            if (s === DHCP_INIT) {
                // (An address set now is the static fallback's, searched past after the link
                // came back: it stays until a lease replaces it.)
                this.since = now
                this.tries = 0
            }
            this.state = DHCP_SELECTING
            this.xid = newXid()
            this.discovers++
            this.send(DHCPDISCOVER, IPV4_BROADCAST, now)
        } else if (s === DHCP_REQUESTING || s === DHCP_REBOOTING) {
            if (this.tries < REQUEST_TRIES) {
                this.send(DHCPREQUEST, IPV4_BROADCAST, now)
                if (s === DHCP_REBOOTING && this.at > this.expireAt) this.at = this.expireAt
            } else if (s === DHCP_REBOOTING) {
                // Nobody answered: section 3.2 lets us keep the lease until it runs out (the
                // BOUND tick at T1 drops it at once if that has already happened).
                this.state = DHCP_BOUND
                this.at = this.t1At
            } else {
                this.restart(now)
                this.tick(now)
            }
        } else if (s >= DHCP_BOUND && s <= DHCP_REBINDING) {
            const next = now >= this.t2At ? DHCP_REBINDING : DHCP_RENEWING
            if (next !== s) {
                if (s === DHCP_BOUND) this.since = now
                this.state = next
                this.tries = 0
            }
            const end = next === DHCP_RENEWING ? this.t2At : this.expireAt
            this.xid = newXid()
            this.send(DHCPREQUEST, next === DHCP_RENEWING ? this.server : IPV4_BROADCAST, now)
            // Not the back-off send() set: half the time left, at least 60 s (section 4.4.5).
            const wait = (end - now) / 2
            this.at = Math.min(end, now + (wait > 60000 ? wait : 60000))
        }
    }

    udpInput(buf: Buffer, off: number, len: number, src: number, srcPort: number, dst: number, now: number): void {
        const m = this.m
        const s = this.state
        if (srcPort !== DHCP_SERVER_PORT || !dhcpParse(buf, off, len, m) || m.xid !== this.xid || !bytesEqual(buf, m.chaddrOff, this.udp.iface.mac, 0, 6)) {
            this.dropped++
            return
        }
        if (s === DHCP_SELECTING && m.type === DHCPOFFER && m.yiaddr !== 0 && m.v[V_SERVER_ID] !== 0) {
            this.ip = m.yiaddr
            this.server = m.v[V_SERVER_ID]
            this.state = DHCP_REQUESTING
            this.tries = 0
            this.send(DHCPREQUEST, IPV4_BROADCAST, now)
        } else if (s >= DHCP_REQUESTING && s !== DHCP_BOUND && s !== DHCP_STATIC) { // a REQUEST is out
            if (m.type === DHCPNAK) {
                this.setAddress(0, 0, 0)
                this.restart(now)
            } else if (m.type === DHCPACK && m.yiaddr !== 0 && m.v[V_LEASE] !== 0) {
                this.bind(m)
            } else {
                this.dropped++
            }
        } else {
            this.dropped++
        }
    }

    /**
     * The link came back up (the device may now be on another network). With a lease:
     * confirm it (REBOOTING). Otherwise search again now, unless the address is a static
     * override.
     */
    linkRestored(now: number): void {
        const s = this.state
        if (s >= DHCP_BOUND && s !== DHCP_STATIC) { // BOUND, RENEWING, REBINDING, REBOOTING
            this.state = DHCP_REBOOTING
            this.since = now
            this.tries = 0
            this.xid = newXid()
            this.tick(now) // the REQUEST (or the end of a lease that ran out meanwhile)
        } else if (!this.staticOverride) {
            this.restart(now)
        }
    }

    private bind(m: DhcpRepr): void {
        const start = this.reqAt
        const v = m.v
        const lease = v[V_LEASE] * 1000
        // T1/T2 default to 0.5 and 0.875 of the lease (section 4.4.5); inconsistent values too.
        let t1 = v[V_T1] * 1000
        let t2 = v[V_T2] * 1000
        if (!(t2 > 0 && t2 <= lease)) t2 = lease * 0.875
        if (!(t1 > 0 && t1 <= t2)) t1 = Math.min(lease * 0.5, t2)
        this.t1At = start + t1
        this.t2At = start + t2
        this.expireAt = start + lease
        if (v[V_SERVER_ID] !== 0) this.server = v[V_SERVER_ID]
        this.dns = v[V_DNS]
        // INIT-REBOOT confirmed the address we kept: announce it now, not before (RFC 5227
        // section 2.1; a changed address is announced by setAddress).
        if (this.state === DHCP_REBOOTING && m.yiaddr === this.udp.iface.ip) this.udp.iface.announce()
        this.state = DHCP_BOUND
        this.at = this.t1At
        this.leases++
        // No mask option: assume a /24, the common case, rather than a host route.
        this.setAddress(m.yiaddr, v[V_MASK] || 0xffffff00, v[V_ROUTER])
    }

    /** Applies an address to the interface and tells the listener; nothing when unchanged (keeps the ARP cache). */
    private setAddress(ip: number, mask: number, router: number): void {
        const iface = this.udp.iface
        this.ip = ip
        this.mask = mask
        this.router = router
        if (iface.ip === ip && iface.netmask === mask && iface.gateway === router) return
        iface.setAddress(ip, mask, router)
        // RFC 2131 section 4.4.1: announce the new binding.
        if (ip !== 0) iface.announce()
        if (this.onAddress !== null) this.onAddress(ip)
    }

    private useStatic(): void {
        this.state = DHCP_STATIC
        this.at = NEVER
        this.setAddress(parseIpv4(this.staticIp || "0.0.0.0"), parseIpv4(this.staticMask || "255.255.255.0"), parseIpv4(this.staticGateway || "0.0.0.0"))
    }

    private restart(now: number): void {
        this.state = DHCP_INIT
        this.discovers = 0
        this.at = now
    }

    /**
     * DISCOVER, or a REQUEST for the state we are in (its ciaddr and options depend on it).
     * Counts the transmission and sets the retransmission time: 4 s doubling to 64 s, ±1 s
     * (section 4.1).
     */
    private send(type: number, dst: number, now: number): void {
        const t = this.tries++
        if (type === DHCPREQUEST && t === 0) this.reqAt = now
        this.at = now + (t < 4 ? 4000 << t : 64000) + Math.random() * 2000 - 1000
        const udp = this.udp
        const f = udp.iface.allocIpv4Frame()
        if (f === null) return // the timer retransmits
        const b = f.buf
        const s = this.state
        const bound = s >= DHCP_BOUND && s <= DHCP_REBINDING
        // Replies come to the offered address unless we ask for broadcast (section 4.1): fine
        // while the interface has no address (it takes any unicast then), not while it holds
        // the static fallback's.
        const broadcast = !bound && udp.iface.ip !== 0 && s !== DHCP_REBOOTING
        let p = dhcpEmitHeader(b, UDP_DATA_OFFSET, this.xid, (now - this.since) / 1000, broadcast, bound ? this.ip : 0, udp.iface.mac)
        p = dhcpPutOption(b, p, OPT_MESSAGE_TYPE, 1, type)
        if (type === DHCPREQUEST && !bound) {
            // Section 4.3.2: SELECTING names the address and the chosen server, INIT-REBOOT
            // only the address (ciaddr 0 in both).
            p = dhcpPutOption(b, p, OPT_REQUESTED_IP, 4, this.ip)
            if (s === DHCP_REQUESTING) p = dhcpPutOption(b, p, OPT_SERVER_ID, 4, this.server)
        }
        // Parameter request list: subnet mask, router, DNS; then the end option.
        b[p] = 55
        b[p + 1] = 3
        b[p + 2] = 1
        b[p + 3] = 3
        b[p + 4] = 6
        b[p + 5] = 255
        p += 6
        let len = p - UDP_DATA_OFFSET
        if (len < DHCP_MIN_LEN) {
            fillBytes(b, p, DHCP_MIN_LEN - len, 0)
            len = DHCP_MIN_LEN
        }
        udp.sendFrame(f, DHCP_CLIENT_PORT, dst, DHCP_SERVER_PORT, len, now)
    }
}
