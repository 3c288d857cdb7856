// The connection and listener tables: slot lookup by 4-tuple or port, slot allocation
// (recycling the oldest orphaned TIME-WAIT connection when full), freeing, and the
// integer handles the API hands out: (generation << 8) | slot.

import { Connection } from "./connection"
import { TcpCounters } from "./counters"
import { Listener } from "./listener"
import { TcpState } from "./state"

/** Slots per table are addressed by the low 8 bits of a handle. */
export const MAX_SLOTS = 256

/** @devsWhenUsed */
export class TcpTables {
    readonly conns: Connection[] = []
    readonly listeners: Listener[] = []
    private counters: TcpCounters

    constructor(counters: TcpCounters) {
        this.counters = counters
    }

    /** The live connection for this 4-tuple (our address is implied), or null. */
    findConnection(localPort: number, remoteIp: number, remotePort: number): Connection {
        for (let i = 0; i < this.conns.length; i++) {
            const c = this.conns[i]
            if (c.inUse && c.state !== TcpState.Closed && c.localPort === localPort && c.remotePort === remotePort && c.remoteIp === remoteIp) return c
        }
        return null
    }

    findListener(port: number): Listener {
        for (let i = 0; i < this.listeners.length; i++) {
            const l = this.listeners[i]
            if (l.inUse && l.port === port) return l
        }
        return null
    }

    /** True when no slot (live or not) uses this 4-tuple. */
    tupleFree(localPort: number, remoteIp: number, remotePort: number): boolean {
        for (let i = 0; i < this.conns.length; i++) {
            const c = this.conns[i]
            if (c.inUse && c.localPort === localPort && c.remoteIp === remoteIp && c.remotePort === remotePort) return false
        }
        return true
    }

    /** A free slot, or the orphaned TIME-WAIT connection closest to its end recycled; null if none. */
    allocSlot(): Connection {
        let oldest: Connection = null
        for (let i = 0; i < this.conns.length; i++) {
            const c = this.conns[i]
            if (!c.inUse) return c
            if (c.state === TcpState.TimeWait && !c.userHeld && (oldest === null || c.closeAt < oldest.closeAt)) oldest = c
        }
        if (oldest !== null) {
            this.counters.timeWaitRecycled++
            oldest.reset()
        }
        return oldest
    }

    /** Frees a slot nobody needs any more: CLOSED and not held by the user. */
    reap(c: Connection): void {
        if (!c.inUse || c.state !== TcpState.Closed || c.userHeld) return
        if (c.listenerIndex >= 0) this.listeners[c.listenerIndex].remove(c.index)
        c.reset()
    }

    handleOf(c: Connection): number {
        return (c.generation << 8) | c.index
    }

    listenerHandle(l: Listener): number {
        return (l.generation << 8) | l.index
    }

    /** The connection a user handle names, or null when it is stale or invalid. */
    conn(h: number): Connection {
        if (!(h >= 0)) return null
        const c = this.conns[h & 0xff]
        if (c === undefined || !c.inUse || !c.userHeld || c.generation !== (h >>> 8)) return null
        return c
    }

    listener(h: number): Listener {
        if (!(h >= 0)) return null
        const l = this.listeners[h & 0xff]
        if (l === undefined || !l.inUse || l.generation !== (h >>> 8)) return null
        return l
    }
}
