// The network interface: Ethernet demux, ARP, IPv4 input/output, and the transmit
// frames. Synchronous: the pump (pump.ts) moves frames between it and the device, and
// every call takes the time `now` in milliseconds.
//
// Receive: input() never throws. Every frame ends in exactly one outcome counter
// (counters.ts), and nothing is kept from the frame after input() returns (the pump
// reuses its buffer): handlers copy what they need.
//
// Transmit: a sender takes a frame with allocIpv4Frame(), writes its payload at
// IPV4_PAYLOAD_OFFSET and calls sendIpv4(), which writes every other byte (headers
// and zero padding), so a reused frame never leaks old data.

import { allocBytes, bytesEqual, copyBytes, fillBytes } from "../util/bytes"
import { StackConfig } from "../config"
import {
    ETHERNET_HEADER_LEN,
    ETHERNET_MIN_FRAME_LEN,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    EthernetRepr,
    MAC_LEN,
    ethernetEmit,
    ethernetParse,
    macIsGroup,
} from "../wire/ethernet"
import { ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, ArpRepr, arpEmit, arpParse } from "../wire/arp"
import {
    IPV4_BROADCAST,
    IPV4_HEADER_LEN,
    IPV4_PROTO_ICMP,
    Ipv4Repr,
    ipv4Check,
    ipv4Emit,
    ipv4IsNotHost,
    ipv4Parse,
    parseIpv4,
} from "../wire/ipv4"
import { ARP_PENDING, ARP_RESOLVED, ArpCache, ArpEntry } from "./arp-cache"
import { InterfaceCounters, count, newInterfaceCounters } from "./counters"
import { TX_ALLOCATED, TX_PENDING_ARP, TX_SENDING, TxFrame, TxPool } from "./tx-pool"
import { IcmpEchoResponder } from "./icmp-echo"

/** Where a sender writes the IPv4 payload in a frame from allocIpv4Frame(). */
export const IPV4_PAYLOAD_OFFSET = ETHERNET_HEADER_LEN + IPV4_HEADER_LEN

/** The drop counter for each ipv4Check() result (IPV4_ERR_SHORT = 1 ... IPV4_ERR_CHECKSUM = 5). */
const IPV4_DROP_BY_ERROR: Array<keyof InterfaceCounters> = ["ipDropTotalLen", "ipDropShort", "ipDropVersion", "ipDropHeaderLen", "ipDropTotalLen", "ipDropChecksum"]

/** Protocol handlers registered per IPv4 protocol number (ICMP, TCP, UDP, one spare). */
const MAX_IPV4_HANDLERS = 4

/** A transport protocol: gets every datagram for its protocol number that is for us. */
export interface Ipv4Handler {
    /**
     * buf[payloadOff..payloadOff+payloadLen) is the IPv4 payload. The buffer is reused
     * after the call returns: copy what must be kept. dst is our address or a broadcast.
     */
    ipv4Input(iface: Interface, buf: Buffer, payloadOff: number, payloadLen: number, src: number, dst: number, now: number): void
}

/** Told when our address changes (a DHCP lease lost, or another address): TcpLayer. */
export interface AddressListener {
    addressChanged(): void
}

function configAddress(s: string, what: string): number {
    const a = parseIpv4(s)
    if (a < 0) throw new Error("config: bad " + what + " address " + s)
    return a
}

/** @devsWhenUsed */
export class Interface {
    counters: InterfaceCounters
    arp: ArpCache
    pool: TxPool
    /** Our Ethernet address (6 bytes). */
    mac: Buffer
    ip: number
    netmask: number
    gateway: number
    /** Largest IP datagram sent or accepted for ICMP echo (config.mtu). */
    mtu: number
    /** TTL of datagrams we originate (config.ttl). */
    ttl: number
    /**
     * ip | ~netmask, the subnet-directed broadcast; 255.255.255.255 when there is none
     * (no address yet, or a /31 or /32 mask), so comparisons need no special cases.
     */
    subnetBroadcast: number
    /** Called after setAddress() changed our address (the TCP layer registers itself). */
    addressListener: AddressListener

    private handlerProtocols: number[]
    private handlers: Ipv4Handler[]
    private nextIdent: number
    private broadcastMac: Buffer
    private zeroMac: Buffer
    // Scratch representations, reused for every packet.
    private ethIn: EthernetRepr
    private ethOut: EthernetRepr
    private arpIn: ArpRepr
    private arpOut: ArpRepr
    private ipIn: Ipv4Repr
    private ipOut: Ipv4Repr

    constructor(config: StackConfig) {
        // The config is read here, not kept: the stack keeps no reference to it (see NetStack).
        this.counters = newInterfaceCounters()
        this.mtu = config.mtu
        this.ttl = config.ttl
        this.mac = allocBytes(MAC_LEN)
        for (let i = 0; i < MAC_LEN; i++) this.mac[i] = config.mac[i]
        this.broadcastMac = allocBytes(MAC_LEN)
        fillBytes(this.broadcastMac, 0, MAC_LEN, 0xff)
        this.zeroMac = allocBytes(MAC_LEN)
        this.pool = new TxPool(config.txFrames, config.mtu + ETHERNET_HEADER_LEN)
        this.arp = new ArpCache(config.arpEntries, config.arpTtlMs, config.arpRequestIntervalMs, config.arpResolveTimeoutMs, this.counters)
        this.ethIn = new EthernetRepr()
        this.ethOut = new EthernetRepr()
        copyBytes(this.ethOut.src, 0, this.mac, 0, MAC_LEN)
        this.arpIn = new ArpRepr()
        this.arpOut = new ArpRepr()
        this.ipIn = new Ipv4Repr()
        this.ipOut = new Ipv4Repr()
        this.handlerProtocols = []
        this.handlers = []
        this.nextIdent = 1
        this.setAddress(configAddress(config.ip, "ip"), configAddress(config.netmask, "netmask"), configAddress(config.gateway, "gateway"))
        this.registerIpv4Handler(IPV4_PROTO_ICMP, new IcmpEchoResponder())
    }

    /**
     * Sets our address (DHCP later). Flushes the ARP cache: old bindings may be off-subnet now.
     * A new address is reported to addressListener: connections bound to the old one are dead.
     */
    setAddress(ip: number, netmask: number, gateway: number): void {
        const old = this.ip
        for (let i = 0; i < this.arp.entries.length; i++) {
            const e = this.arp.entries[i]
            if (e.pending !== null) this.pool.release(e.pending)
            this.arp.remove(e)
        }
        this.ip = ip >>> 0
        this.netmask = netmask >>> 0
        this.gateway = gateway >>> 0
        const pointToPoint = this.netmask === 0xffffffff || this.netmask === 0xfffffffe
        this.subnetBroadcast = this.ip === 0 || pointToPoint ? IPV4_BROADCAST : (this.ip | ~this.netmask) >>> 0
        this.arp.protectedIp = this.gateway
        if (old !== this.ip && this.addressListener) this.addressListener.addressChanged()
    }

    /** Routes a protocol to a handler (replacing an earlier one). False when the table is full. */
    registerIpv4Handler(protocol: number, handler: Ipv4Handler): boolean {
        const i = this.handlerProtocols.indexOf(protocol)
        if (i >= 0) {
            this.handlers[i] = handler
            return true
        }
        if (this.handlers.length >= MAX_IPV4_HANDLERS) return false
        this.handlerProtocols.push(protocol)
        this.handlers.push(handler)
        return true
    }

    // ------------------------------------------------------------------ receive

    /** Processes one received frame buf[0..len). Never throws; every frame is counted. */
    input(frame: Buffer, len: number, now: number): void {
        const c = this.counters
        count(c, "rxFrames")
        if (!(len > 0)) len = 0
        if (len > frame.length) len = frame.length
        c.rxBytes += len
        try {
            this.ethernetInput(frame, len, now)
        } catch (e) {
            count(c, "internalErrors")
        }
    }

    private ethernetInput(frame: Buffer, len: number, now: number): void {
        const c = this.counters
        const eth = this.ethIn
        if (!ethernetParse(frame, 0, len, eth)) {
            count(c, "ethDropShort")
            return
        }
        if (!bytesEqual(eth.dst, 0, this.mac, 0, MAC_LEN) && !bytesEqual(eth.dst, 0, this.broadcastMac, 0, MAC_LEN)) {
            if (macIsGroup(eth.dst, 0)) count(c, "ethDropMulticast")
            else count(c, "ethDropNotOurs")
            return
        }
        const type = eth.etherType
        if (type === ETHERTYPE_IPV4) this.ipv4Input(frame, len, now)
        else if (type === ETHERTYPE_ARP) this.arpInput(frame, len, now)
        else if (type === ETHERTYPE_IPV6) count(c, "ethDropIpv6")
        else count(c, "ethDropOtherType")
    }

    private arpInput(frame: Buffer, len: number, now: number): void {
        const c = this.counters
        const a = this.arpIn
        if (!arpParse(frame, ETHERNET_HEADER_LEN, len - ETHERNET_HEADER_LEN, a)) {
            count(c, "arpDropMalformed")
            return
        }
        // Without an address there is nothing to answer for (a DHCP-time probe, RFC 5227, would hook in here).
        if (this.ip === 0) {
            count(c, "arpDropNoAddress")
            return
        }
        if (macIsGroup(a.senderMac, 0) || ipv4IsNotHost(a.senderIp) || a.senderIp === this.subnetBroadcast) {
            count(c, "arpDropBadSender")
            return
        }
        if (a.senderIp === this.ip) {
            // Our own packet reflected back is harmless; another MAC using our address is a conflict.
            if (bytesEqual(a.senderMac, 0, this.mac, 0, MAC_LEN)) count(c, "arpNotForUs")
            else count(c, "arpDropConflict")
            return
        }
        // Sender 0.0.0.0 is an RFC 5227 probe: nothing to learn, but a probe for us is answered.
        const hasSender = a.senderIp !== 0
        let merged: ArpEntry = null
        if (hasSender) {
            // RFC 826 merge: refresh an existing binding whoever the target is.
            merged = this.arp.merge(a.senderIp, a.senderMac, 0, now)
            const f = merged !== null ? merged.pending : null
            if (f !== null) {
                // Resolved: the parked packet gets its MAC and joins the queue.
                merged.pending = null
                copyBytes(f.buf, 0, merged.mac, 0, MAC_LEN)
                this.pool.enqueue(f)
            }
        }
        if (a.targetIp !== this.ip) {
            if (hasSender && a.senderIp === a.targetIp) count(c, "arpGratuitous")
            else count(c, "arpNotForUs")
            return
        }
        // RFC 826: "if I am the target, add the sender if not already there".
        if (merged === null && hasSender) this.arp.learn(a.senderIp, a.senderMac, 0, now)
        if (a.operation === ARP_OP_REQUEST) {
            count(c, "arpRequestsForUs")
            if (this.sendArp(ARP_OP_REPLY, a.senderMac, a.senderIp, a.senderMac)) count(c, "arpRepliesSent")
        } else {
            count(c, "arpRepliesForUs")
        }
    }

    private ipv4Input(frame: Buffer, len: number, now: number): void {
        const c = this.counters
        const p = this.ipIn
        const off = ETHERNET_HEADER_LEN
        if (!ipv4Parse(frame, off, len - off, p)) {
            count(c, IPV4_DROP_BY_ERROR[ipv4Check(frame, off, len - off)])
            return
        }
        // No reassembly: we send with DF and our MTU is the link's, so fragments are rare.
        if (p.moreFragments || p.fragmentOffset !== 0) {
            count(c, "ipDropFragment")
            return
        }
        if (!this.isForUs(p.dst)) {
            count(c, "ipDropNotForUs")
            return
        }
        if (ipv4IsNotHost(p.src) || p.src === this.subnetBroadcast) {
            count(c, "ipDropBadSource")
            return
        }
        const k = this.handlerProtocols.indexOf(p.protocol)
        if (k < 0) {
            count(c, "ipDropUnknownProtocol")
            return
        }
        count(c, "ipDelivered")
        this.handlers[k].ipv4Input(this, frame, off + p.headerLen, p.payloadLen, p.src, p.dst, now)
    }

    /**
     * Our address, the limited broadcast, or the subnet-directed broadcast. With no
     * address yet (DHCP) any destination is taken: the Ethernet filter already
     * limited the frame to our MAC or broadcast, and a DHCP offer may be unicast to
     * the offered address (RFC 2131 section 4.1).
     */
    isForUs(dst: number): boolean {
        return dst === this.ip || dst === this.subnetBroadcast || dst === IPV4_BROADCAST || this.ip === 0
    }

    /** True for the limited or our subnet-directed broadcast address. */
    isBroadcast(addr: number): boolean {
        return addr === IPV4_BROADCAST || addr === this.subnetBroadcast
    }

    // ------------------------------------------------------------------ transmit

    /** A free frame for an IPv4 datagram (payload at IPV4_PAYLOAD_OFFSET), or null (counted). */
    allocIpv4Frame(): TxFrame {
        const f = this.pool.alloc()
        if (f === null) count(this.counters, "txDropPoolEmpty")
        return f
    }

    /** Gives back a frame from allocIpv4Frame() that will not be sent after all. */
    releaseFrame(frame: TxFrame): void {
        if (frame !== null && frame.state === TX_ALLOCATED) this.pool.release(frame)
    }

    /**
     * Sends the datagram whose payload is frame.buf[IPV4_PAYLOAD_OFFSET..+payloadLen):
     * writes the IPv4 header (DF set, TTL from config) and the Ethernet header, pads to
     * 60 bytes with zeros, routes via the gateway when dst is off-subnet, and queues it
     * or parks it on its ARP entry. Always takes the frame; false = dropped (counted).
     */
    sendIpv4(frame: TxFrame, dst: number, protocol: number, payloadLen: number, now: number): boolean {
        const c = this.counters
        if (frame === null || frame.state !== TX_ALLOCATED) {
            count(c, "internalErrors")
            return false
        }
        dst = dst >>> 0
        if (!(payloadLen >= 0) || payloadLen + IPV4_HEADER_LEN > this.mtu) {
            count(c, "txDropTooLong")
            this.pool.release(frame)
            return false
        }
        const broadcast = this.isBroadcast(dst)
        let nextHop = dst
        if (!broadcast) {
            if (this.ip === 0 || dst === 0 || dst === this.ip || ipv4IsNotHost(dst)) nextHop = 0
            else if (((dst ^ this.ip) & this.netmask) !== 0) nextHop = this.gateway
        }
        if (!broadcast && nextHop === 0) {
            count(c, "txDropNoRoute")
            this.pool.release(frame)
            return false
        }
        const ip = this.ipOut
        ip.tos = 0
        ip.ident = this.nextIdent
        this.nextIdent = (this.nextIdent + 1) & 0xffff
        ip.dontFragment = true
        ip.moreFragments = false
        ip.fragmentOffset = 0
        ip.ttl = this.ttl
        ip.protocol = protocol
        ip.src = this.ip
        ip.dst = dst
        ip.payloadLen = payloadLen
        const buf = frame.buf
        ipv4Emit(ip, buf, ETHERNET_HEADER_LEN)
        const eth = this.ethOut
        eth.etherType = ETHERTYPE_IPV4
        copyBytes(eth.dst, 0, this.broadcastMac, 0, MAC_LEN) // replaced below unless broadcast
        ethernetEmit(eth, buf, 0)
        this.setLength(frame, IPV4_PAYLOAD_OFFSET + payloadLen)
        if (broadcast) {
            count(c, "ipTx")
            this.pool.enqueue(frame)
            return true
        }
        return this.resolveAndQueue(frame, nextHop, now)
    }

    /** Sets frame.len, zero-padding up to the Ethernet minimum. */
    private setLength(frame: TxFrame, end: number): void {
        if (end < ETHERNET_MIN_FRAME_LEN) {
            fillBytes(frame.buf, end, ETHERNET_MIN_FRAME_LEN - end, 0)
            end = ETHERNET_MIN_FRAME_LEN
        }
        frame.len = end
    }

    /** Fills in the next hop's MAC and queues, or parks the frame on its ARP entry. */
    private resolveAndQueue(frame: TxFrame, nextHop: number, now: number): boolean {
        const c = this.counters
        const known = this.arp.lookup(nextHop, now)
        if (known !== null) {
            copyBytes(frame.buf, 0, known.mac, 0, MAC_LEN)
            count(c, "ipTx")
            this.pool.enqueue(frame)
            return true
        }
        let e = this.arp.find(nextHop)
        if (e !== null && e.state === ARP_PENDING) {
            // One packet per unresolved address: the newer one is more useful.
            if (e.pending !== null) {
                this.pool.release(e.pending)
                count(c, "arpPendingReplaced")
            }
        } else {
            e = this.arp.startResolve(nextHop, now)
            if (e === null) {
                count(c, "txDropArpTableFull")
                this.pool.release(frame)
                return false
            }
        }
        // At most txFrames - 1 frames wait for ARP (a replaced one does not count): a parked
        // frame is held up to arpResolveTimeoutMs, and a few pings or SYNs from unresolvable
        // neighbours must not take every frame, and with them all TCP output, for that long.
        // Beyond that the packet is dropped (counted as "no room to wait for ARP"; the
        // sender retries), and the address is resolved all the same.
        const park = e.pending !== null || this.pool.countState(TX_PENDING_ARP) < this.pool.frames.length - 1
        if (park) {
            frame.state = TX_PENDING_ARP
            frame.nextHop = nextHop
            e.pending = frame
            count(c, "ipTx")
        } else {
            count(c, "txDropArpTableFull")
            this.pool.release(frame)
        }
        if (e.requestsSent === 0) this.sendArpRequest(e, now, false)
        return park
    }

    /**
     * ARP announcement (RFC 5227 section 2.3): a broadcast request with our address as
     * both sender and target. Neighbours (and passt, which learns the guest from its
     * frames) update their caches at once instead of when we first answer. False when
     * we have no address or no frame is free (counted).
     */
    announce(): boolean {
        if (this.ip === 0 || !this.sendArp(ARP_OP_REQUEST, this.zeroMac, this.ip, this.broadcastMac)) return false
        count(this.counters, "arpAnnouncementsSent")
        return true
    }

    /** Broadcast request for e.ip, or unicast to its known MAC when refreshing (RFC 1122 2.3.2.1). */
    private sendArpRequest(e: ArpEntry, now: number, unicast: boolean): void {
        // Without a frame, poll() retries: requestsSent/lastRequestMs stay unchanged.
        if (!this.sendArp(ARP_OP_REQUEST, this.zeroMac, e.ip, unicast ? e.mac : this.broadcastMac)) return
        e.lastRequestMs = now
        e.requestsSent++
        count(this.counters, "arpRequestsSent")
    }

    /** Queues an ARP packet from us (our MAC and address as sender). False when no frame is free (counted). */
    private sendArp(operation: number, targetMac: Buffer, targetIp: number, dstMac: Buffer): boolean {
        const f = this.pool.allocControl()
        if (f === null) {
            count(this.counters, "txDropPoolEmpty")
            return false
        }
        const r = this.arpOut
        r.operation = operation
        copyBytes(r.senderMac, 0, this.mac, 0, MAC_LEN)
        r.senderIp = this.ip
        copyBytes(r.targetMac, 0, targetMac, 0, MAC_LEN)
        r.targetIp = targetIp
        const eth = this.ethOut
        copyBytes(eth.dst, 0, dstMac, 0, MAC_LEN)
        eth.etherType = ETHERTYPE_ARP
        ethernetEmit(eth, f.buf, 0)
        arpEmit(r, f.buf, ETHERNET_HEADER_LEN)
        this.setLength(f, ETHERNET_HEADER_LEN + ARP_LEN)
        this.pool.enqueue(f)
        return true
    }

    // ------------------------------------------------------------------ time and the pump

    /** ARP expiry, retries and give-ups, refresh of bindings in use. Never throws. */
    poll(now: number): void {
        const arp = this.arp
        const c = this.counters
        try {
            for (let i = 0; i < arp.entries.length; i++) {
                const e = arp.entries[i]
                const requestDue = e.requestsSent === 0 || now - e.lastRequestMs >= arp.requestIntervalMs
                if (e.state === ARP_PENDING) {
                    if (now - e.pendingSinceMs >= arp.resolveTimeoutMs) {
                        if (e.pending !== null) this.pool.release(e.pending)
                        count(c, "arpResolveTimeouts")
                        arp.remove(e)
                    } else if (requestDue) {
                        this.sendArpRequest(e, now, false)
                    }
                } else if (e.state === ARP_RESOLVED) {
                    const age = now - e.updatedMs
                    if (age >= arp.ttlMs) {
                        count(c, "arpExpired")
                        arp.remove(e)
                    } else if (age >= arp.ttlMs - arp.resolveTimeoutMs && e.used && now - e.usedMs < arp.ttlMs && requestDue) {
                        // In use and about to expire: ask the peer directly, so traffic never waits.
                        this.sendArpRequest(e, now, true)
                    }
                }
            }
        } catch (e) {
            count(c, "internalErrors")
        }
    }

    /** The next frame to transmit, or null. The pump hands it back with txDone(). */
    nextTxFrame(): TxFrame {
        const f = this.pool.dequeue()
        if (f !== null) {
            count(this.counters, "txFramesOut")
            this.counters.txBytesOut += f.len
        }
        return f
    }

    /** The pump is finished with a frame from nextTxFrame(): it returns to the pool. */
    txDone(frame: TxFrame): void {
        if (frame !== null && frame.state === TX_SENDING) this.pool.release(frame)
    }

    /** Frames waiting for the pump. */
    txQueueLength(): number {
        return this.pool.queued()
    }
}
