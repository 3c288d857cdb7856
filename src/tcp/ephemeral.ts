// Ephemeral ports for active opens, RFC 6056 §3.3.3 (Algorithm 3, "simple hash-based"):
// start at a keyed hash of the destination plus a counter, and take the first port whose
// 4-tuple is unused and that no listener owns. Each busy candidate is owned by a slot, so
// a bounded number of tries always finds one when any is free.

import { halfSipHash, mixSeed } from "./halfsiphash"
import { TcpTables } from "./tables"

/** @devsWhenUsed */
export class EphemeralPorts {
    private min: number
    private count: number
    private next = 0
    private k0: number
    private k1: number

    constructor(min: number, max: number, seed: number, seed2: number) {
        this.min = min
        this.count = max - min + 1
        this.k0 = mixSeed(seed, 5)
        this.k1 = mixSeed(seed2, 6)
    }

    /** A free local port for a connection from localIp to remoteIp:remotePort, or -1. */
    pick(tables: TcpTables, localIp: number, remoteIp: number, remotePort: number): number {
        const n = this.count
        if (!(n > 0)) return -1
        const offset = halfSipHash(this.k0, this.k1, localIp, remoteIp, remotePort, 0, 3)
        const tries = tables.conns.length + tables.listeners.length + 1
        for (let i = 0; i < tries; i++) {
            const p = this.min + ((offset + this.next) % n)
            this.next = (this.next + 1) % n
            if (tables.findListener(p) === null && tables.tupleFree(p, remoteIp, remotePort)) return p
        }
        return -1
    }
}
