// The SYN queue: half-open passive connections (SYN received, SYN-ACK sent), kept as
// small records instead of full connection slots, like Linux's request sockets. One
// bounded table serves every listener; each listener may hold at most its backlog.

/** @devsWhenUsed */
export class SynRequest {
    /** Owning listener index; -1 = free. Nothing else is read while free, and listenInput sets it all. */
    listener = -1
    localIp: number
    localPort: number
    remoteIp: number
    remotePort: number
    iss: number
    irs: number
    peerMss: number
    /** Window-scale shift offered in the SYN; -1 = none (then our SYN-ACK offers none either). */
    peerWs: number
    /** SYN-ACK retransmissions so far, next retransmission time, first SYN-ACK time. */
    retries: number
    nextAt: number
    sentAt: number
    /** The last SYN-ACK found no frame: it goes out at the next retry (passive-open.ts). */
    owed: boolean
}

/** @devsWhenUsed */
export class SynQueue {
    readonly entries: SynRequest[] = []

    constructor(size: number) {
        for (let i = 0; i < size; i++) this.entries.push(new SynRequest())
    }

    /** The request for this 4-tuple (local address is ours), or null. */
    find(localPort: number, remoteIp: number, remotePort: number): SynRequest {
        for (let i = 0; i < this.entries.length; i++) {
            const r = this.entries[i]
            if (r.listener >= 0 && r.localPort === localPort && r.remoteIp === remoteIp && r.remotePort === remotePort) return r
        }
        return null
    }

    /** A free record (still marked free: the caller sets listener), or null. */
    alloc(): SynRequest {
        for (let i = 0; i < this.entries.length; i++) if (this.entries[i].listener < 0) return this.entries[i]
        return null
    }

    free(r: SynRequest): void {
        r.listener = -1
    }
}
