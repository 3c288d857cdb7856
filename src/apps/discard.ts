// Discard (RFC 863, TCP port 9): reads and throws away everything; closes at end of stream.
//
// Design: a fixed number of worker tasks, each looping accept() → read() until EOF →
// close(), written only against the blocking socket calls. Discard keeps no state between
// reads and never writes, so the plainest blocking code is also the cheapest: memory is
// `workers` small read buffers made at construction, and `workers` clients are served at
// once (the rest wait in the listen backlog). All workers block in accept() on the same
// listener; each new connection wakes them and one takes it.

import { EBADF, SocketError } from "../tcp/errors"
import { Sockets } from "../socket/sockets"
import { TcpListener } from "../socket/listener"
import { Task } from "../socket/scheduler"
import { TcpSocket } from "../socket/socket"
import { allocBytes } from "../util/bytes"

export const DISCARD_PORT = 9

export interface DiscardOptions {
    port?: number
    backlog?: number
    /** Worker tasks = clients served at once (default 2). */
    workers?: number
    /** Read buffer per worker (default 256 bytes). */
    bufferSize?: number
}

/** Reads between two voluntary yields (the VM watchdog; other tasks' turn). */
const READS_PER_YIELD = 32

/** @devsWhenUsed */
class DiscardWorker implements Task {
    private server: DiscardServer
    private buf: Buffer
    /** The client being served, or null. */
    current: TcpSocket = null

    constructor(server: DiscardServer, bufferSize: number) {
        this.server = server
        this.buf = allocBytes(bufferSize)
    }

    async run(): Promise<void> {
        const server = this.server
        const sched = server.sockets.scheduler()
        while (!server.stopped) {
            let s: TcpSocket = null
            try {
                s = await server.listener.accept()
            } catch (e) {
                if (e instanceof SocketError && e.code === EBADF) return // listener closed: stop
                await sched.sleep(0)
                continue
            }
            this.current = s
            server.accepted++
            try {
                let reads = 0
                for (;;) {
                    const n = await s.read(this.buf, 0, this.buf.length)
                    if (n === 0) break
                    server.bytesDiscarded += n
                    if (++reads % READS_PER_YIELD === 0) await sched.sleep(0)
                }
                server.finished++
                if (s.isOpen()) s.closeNow()
            } catch (e) {
                server.failed++
                if (s.isOpen()) s.abort()
            }
            this.current = null
        }
    }
}

/** @devsWhenUsed */
export class DiscardServer {
    readonly port: number
    readonly backlog: number
    readonly sockets: Sockets
    /** Set by start() (no initialisers: code size). */
    listener: TcpListener
    stopped: boolean
    // Statistics
    accepted = 0
    finished = 0
    failed = 0
    bytesDiscarded = 0

    private workers: DiscardWorker[] = []

    constructor(sockets: Sockets, opts?: DiscardOptions) {
        this.sockets = sockets
        const o: DiscardOptions = opts || {}
        this.port = o.port || DISCARD_PORT
        this.backlog = o.backlog || 4
        const n = o.workers || 2
        const size = o.bufferSize || 256
        for (let i = 0; i < n; i++) this.workers.push(new DiscardWorker(this, size))
    }

    /** Listens (throws EADDRINUSE ...) and starts the workers. */
    start(): void {
        this.stopped = false
        this.listener = this.sockets.listen(this.port, this.backlog)
        const sched = this.sockets.scheduler()
        for (let i = 0; i < this.workers.length; i++) sched.spawn(this.workers[i])
    }

    /** Stops listening and resets the clients being served; the workers end. */
    stop(): void {
        this.stopped = true
        if (this.listener && this.listener.isOpen()) this.listener.close()
        for (let i = 0; i < this.workers.length; i++) {
            const s = this.workers[i].current
            if (s !== null && s.isOpen()) s.abort()
        }
    }

    /** Clients being served now. */
    clientCount(): number {
        let n = 0
        for (let i = 0; i < this.workers.length; i++) if (this.workers[i].current !== null) n++
        return n
    }
}
