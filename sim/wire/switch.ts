// A virtual Ethernet segment: a learning switch with any number of FramePorts (simulated
// devices' jacks, passt, a TAP, fault stages, test peers). It learns which port each source
// MAC lives behind (IEEE 802.1D §7.8 filtering database), forwards unicast to that port
// only, and floods broadcast, multicast and unknown destinations to every other port.
// A frame is never sent back out of the port it came in on.
//
// Like PointToPointLink it hands frames on synchronously; a port that needs deferral (a
// FaultyPort with delay) does it itself. Observers see every frame with the index of the
// port it arrived at, so one pcap can watch the whole segment.

import { FramePort } from "./frame-port"

/** Sees a frame entering the switch; `from` is the index of the port it arrived at. */
export type SwitchObserver = (frame: Buffer, from: number) => void

export interface SwitchOptions {
    /** Entries in the MAC table (oldest learned is replaced when full); default 256. */
    macTableSize?: number
    /** How long a learned address stays, ms of the clock given to now(); default 300 s (802.1D default ageing time). */
    ageingMs?: number
    /** Time source for ageing, ms; default Date.now-free: entries never age. */
    nowMs?: () => number
}

interface MacEntry {
    mac: string
    port: number
    seenMs: number
}

export class EthernetSwitch {
    readonly ports: FramePort[] = []
    private readonly table = new Map<string, MacEntry>()
    private readonly observers: SwitchObserver[] = []
    private readonly tableSize: number
    private readonly ageingMs: number
    private readonly nowMs: () => number
    private closed = false
    /** Frames that came in, were forwarded to one port, were flooded, were filtered (destination behind the ingress port), were runts. */
    readonly stats = { received: 0, forwarded: 0, flooded: 0, filtered: 0, runts: 0 }

    constructor(ports: FramePort[] = [], opts: SwitchOptions = {}) {
        this.tableSize = opts.macTableSize ?? 256
        this.ageingMs = opts.ageingMs ?? 300000
        this.nowMs = opts.nowMs ?? (() => 0)
        for (const p of ports) this.plug(p)
    }

    /** Connects a port; returns its index. */
    plug(port: FramePort): number {
        const index = this.ports.length
        this.ports.push(port)
        port.onFrame((frame) => this.receive(frame, index))
        return index
    }

    observe(observer: SwitchObserver): void {
        this.observers.push(observer)
    }

    /** The port index a MAC ("02:00:00:00:00:01" or 12 hex digits) was learned on, or -1. */
    portOf(mac: string): number {
        const e = this.table.get(mac.replace(/:/g, "").toLowerCase())
        return e && !this.expired(e) ? e.port : -1
    }

    /** Learned entries (for tests and curiosity). */
    tableLength(): number {
        return this.table.size
    }

    private expired(e: MacEntry): boolean {
        return this.nowMs() - e.seenMs > this.ageingMs
    }

    private receive(frame: Buffer, from: number): void {
        if (this.closed) return
        if (frame.length < 14) {
            this.stats.runts++
            return
        }
        this.stats.received++
        for (const o of this.observers) o(frame, from)
        const src = frame.toString("hex", 6, 12)
        // A group source address is invalid (802.3 §3.2.3): never learn it.
        if ((frame[6] & 1) === 0) this.learn(src, from)
        const group = (frame[0] & 1) !== 0
        const entry = group ? undefined : this.table.get(frame.toString("hex", 0, 6))
        if (entry && !this.expired(entry)) {
            if (entry.port === from) {
                this.stats.filtered++
                return
            }
            this.stats.forwarded++
            this.ports[entry.port].send(frame)
            return
        }
        this.stats.flooded++
        for (let i = 0; i < this.ports.length; i++) {
            // Each port may keep what it is given: every one gets its own copy.
            if (i !== from) this.ports[i].send(Buffer.from(frame))
        }
    }

    private learn(mac: string, port: number): void {
        const now = this.nowMs()
        const e = this.table.get(mac)
        if (e) {
            e.port = port
            e.seenMs = now
            return
        }
        if (this.table.size >= this.tableSize) {
            // Bounded table: evict the entry seen longest ago.
            let oldest: MacEntry = null
            for (const x of this.table.values()) if (!oldest || x.seenMs < oldest.seenMs) oldest = x
            this.table.delete(oldest.mac)
        }
        this.table.set(mac, { mac, port, seenMs: now })
    }

    /** Stops forwarding and closes every port. */
    async close(): Promise<void> {
        if (this.closed) return
        this.closed = true
        await Promise.all(this.ports.map((p) => p.close()))
    }
}
