// The ARP cache: a fixed table of IPv4 -> MAC bindings (RFC 826, RFC 1122 section 2.3.2).
//
// Policy (why it is safe against floods):
// - Entries are CREATED only from ARP packets whose target is our address (RFC 826:
//   "if I am the target, add the sender") and when we need to send somewhere. Traffic
//   between other hosts can only REFRESH an entry that already exists (the RFC 826
//   merge), never fill the table.
// - An entry learned from someone else's request ("unsolicited") may only replace a
//   free slot, an expired entry, or another entry we have never sent through. So a
//   flood of requests for us (spoofed senders) churns only those and cannot push out
//   the peers we talk to.
// - When WE need a slot, the least recently used resolved entry is evicted, except
//   the gateway's while it is fresh (protectedIp). Entries waiting for a reply
//   (PENDING) are never evicted: they hold a packet and time out by themselves.
// - A pending entry holds at most one packet; a newer one replaces it (the interface
//   counts that). Requests are rate-limited per address; after resolveTimeoutMs the
//   address is given up and its packet dropped.

import { allocBytes, copyBytes } from "../util/bytes"
import { zeroFields } from "../util/zero-fields"
import { MAC_LEN } from "../wire/ethernet"
import { InterfaceCounters, count } from "./counters"
import { TxFrame } from "./tx-pool"

export const ARP_FREE = 0
export const ARP_PENDING = 1
export const ARP_RESOLVED = 2

/** @devsWhenUsed */
export class ArpEntry {
    ip: number
    state: number
    mac: Buffer
    /** When the binding was last confirmed by the peer (expiry runs from here). */
    updatedMs: number
    /** Last time we sent through it, or when it was created (LRU). */
    usedMs: number
    /** We have sent through it since it was created. */
    used: boolean
    /** When resolution started (PENDING): the give-up clock. */
    pendingSinceMs: number
    /** When the last request for it went out, and how many since the last confirmation. */
    lastRequestMs: number
    requestsSent: number
    /** The one packet waiting for this address (PENDING only). */
    pending: TxFrame
    constructor() {
        this.state = ARP_FREE
        this.mac = allocBytes(MAC_LEN)
        zeroFields<ArpEntry>(this, "ip", "updatedMs", "usedMs", "pendingSinceMs", "lastRequestMs", "requestsSent")
        this.used = false
        this.pending = null
    }
}

/** @devsWhenUsed */
export class ArpCache {
    entries: ArpEntry[]
    ttlMs: number
    requestIntervalMs: number
    resolveTimeoutMs: number
    /** Never evicted while fresh: the gateway (set by the interface). */
    protectedIp: number
    counters: InterfaceCounters

    constructor(capacity: number, ttlMs: number, requestIntervalMs: number, resolveTimeoutMs: number, counters: InterfaceCounters) {
        this.entries = []
        for (let i = 0; i < capacity; i++) this.entries.push(new ArpEntry())
        this.ttlMs = ttlMs
        this.requestIntervalMs = requestIntervalMs
        this.resolveTimeoutMs = resolveTimeoutMs
        this.protectedIp = 0
        this.counters = counters
    }

    /** The entry for ip in any state but FREE, or null. */
    find(ip: number): ArpEntry {
        for (let i = 0; i < this.entries.length; i++) {
            const e = this.entries[i]
            if (e.state !== ARP_FREE && e.ip === ip) return e
        }
        return null
    }

    isFresh(e: ArpEntry, now: number): boolean {
        return e.state === ARP_RESOLVED && now - e.updatedMs < this.ttlMs
    }

    /** A fresh resolved entry for ip (marked used), or null. */
    lookup(ip: number, now: number): ArpEntry {
        const e = this.find(ip)
        if (e === null || !this.isFresh(e, now)) return null
        e.used = true
        e.usedMs = now
        return e
    }

    /**
     * RFC 826 merge: if ip is in the table, take the new MAC and mark it confirmed.
     * Returns the entry (a PENDING one now RESOLVED: the caller sends its packet), or null.
     */
    merge(ip: number, mac: Buffer, macOff: number, now: number): ArpEntry {
        const e = this.find(ip)
        if (e === null) return null
        copyBytes(e.mac, 0, mac, macOff, MAC_LEN)
        e.state = ARP_RESOLVED
        e.updatedMs = now
        e.requestsSent = 0
        count(this.counters, "arpUpdated")
        return e
    }

    /** Adds ip -> mac learned from a packet addressed to us. Null when no slot may be taken. */
    learn(ip: number, mac: Buffer, macOff: number, now: number): ArpEntry {
        const e = this.takeSlot(now, true)
        if (e === null) return null
        e.ip = ip
        copyBytes(e.mac, 0, mac, macOff, MAC_LEN)
        e.state = ARP_RESOLVED
        e.updatedMs = now
        e.usedMs = now
        e.used = false
        e.requestsSent = 0
        count(this.counters, "arpLearned")
        return e
    }

    /**
     * Starts resolving ip: its existing (expired) entry or a new slot becomes PENDING.
     * Null when every entry is pending or protected.
     */
    startResolve(ip: number, now: number): ArpEntry {
        let e = this.find(ip)
        if (e === null) e = this.takeSlot(now, false)
        if (e === null) return null
        e.ip = ip
        e.state = ARP_PENDING
        e.pendingSinceMs = now
        e.usedMs = now
        e.used = true
        e.requestsSent = 0
        e.lastRequestMs = now
        return e
    }

    /** Frees an entry. Its pending packet must have been dealt with by the caller. */
    remove(e: ArpEntry): void {
        e.state = ARP_FREE
        e.ip = 0
        e.pending = null
        e.requestsSent = 0
        e.used = false
    }

    /** Entries in use (not FREE). */
    count(): number {
        let n = 0
        for (let i = 0; i < this.entries.length; i++) if (this.entries[i].state !== ARP_FREE) n++
        return n
    }

    /**
     * A slot for a new entry: free, else the oldest expired, else the LRU resolved entry
     * that may be evicted (not the fresh gateway; when unsolicited, only never-used ones).
     */
    private takeSlot(now: number, unsolicited: boolean): ArpEntry {
        let expired: ArpEntry = null
        let lru: ArpEntry = null
        for (let i = 0; i < this.entries.length; i++) {
            const e = this.entries[i]
            if (e.state === ARP_FREE) return e
            if (e.state !== ARP_RESOLVED) continue
            if (!this.isFresh(e, now)) {
                if (expired === null || e.updatedMs < expired.updatedMs) expired = e
                continue
            }
            if (e.ip === this.protectedIp) continue
            if (unsolicited && e.used) continue
            if (lru === null || e.usedMs < lru.usedMs) lru = e
        }
        if (expired !== null) {
            count(this.counters, "arpExpired")
            this.remove(expired)
            return expired
        }
        if (lru !== null) {
            count(this.counters, "arpEvictions")
            this.remove(lru)
        }
        return lru
    }
}
