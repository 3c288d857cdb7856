// A listening endpoint (one per local port) with the Linux backlog model: `synCount`
// half-open requests in the SYN queue (syn-queue.ts) and an accept queue of established
// connections waiting for accept(), each bounded by the backlog.

/** @devsWhenUsed */
export class Listener {
    readonly index: number
    generation = 0
    inUse = false
    port = 0
    // (Fields without an initialiser are set by open() and read only while inUse.)
    backlog: number
    /** Answer RST instead of dropping when the accept queue is full (Linux tcp_abort_on_overflow). */
    abortOnOverflow: boolean
    /** Requests of this listener in the SYN queue. */
    synCount: number
    /** TCP_EV_* bits waiting to be reported. */
    pendingEvents = 0
    // Statistics
    synReceived: number
    synDropped: number
    cookiesSent: number
    /** Completed handshakes this listener could not take: accept queue full or no free slot (counters acceptQueueOverflows / noFreeSlot say which). */
    acceptOverflows: number
    /** When the last SYN cookie was sent (the SYN queue overflowed). */
    cookieAt: number

    /** Accept queue: connection slot indices, a ring of `backlogMax` entries. */
    private queue: number[] = []
    private head: number
    private count: number

    constructor(index: number, backlogMax: number) {
        this.index = index
        for (let i = 0; i < backlogMax; i++) this.queue.push(-1)
    }

    open(port: number, backlog: number, abortOnOverflow: boolean): void {
        this.inUse = true
        this.port = port
        this.backlog = backlog
        this.abortOnOverflow = abortOnOverflow
        this.synCount = 0
        this.pendingEvents = 0
        this.synReceived = 0
        this.synDropped = 0
        this.cookiesSent = 0
        this.acceptOverflows = 0
        this.cookieAt = -1e15
        this.head = 0
        this.count = 0
    }

    close(): void {
        this.inUse = false
        this.generation = (this.generation + 1) & 0x3fffff
        this.port = 0
        this.count = 0
        this.head = 0
        this.synCount = 0
        this.pendingEvents = 0
    }

    acceptQueueLength(): number {
        return this.count
    }

    acceptQueueFull(): boolean {
        return this.count >= this.backlog
    }

    /** The i-th queued connection index (0 = oldest). */
    queuedAt(i: number): number {
        return this.queue[(this.head + i) % this.queue.length]
    }

    push(connIndex: number): boolean {
        if (this.count >= this.backlog || this.count >= this.queue.length) return false
        this.queue[(this.head + this.count) % this.queue.length] = connIndex
        this.count++
        return true
    }

    /** The oldest queued connection index, or -1. */
    pop(): number {
        if (this.count === 0) return -1
        const c = this.queue[this.head]
        this.head = (this.head + 1) % this.queue.length
        this.count--
        return c
    }

    /** Takes a connection out of the queue wherever it is (it died before accept()). */
    remove(connIndex: number): boolean {
        for (let i = 0; i < this.count; i++) {
            if (this.queuedAt(i) !== connIndex) continue
            for (let k = i; k + 1 < this.count; k++) {
                this.queue[(this.head + k) % this.queue.length] = this.queuedAt(k + 1)
            }
            this.count--
            return true
        }
        return false
    }
}
