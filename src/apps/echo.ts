// Echo (RFC 862, TCP port 7): sends back every byte it receives; when the client shuts
// down its side, echoes what is left and closes.
//
// Design: one task and one poll() loop for every client, written only against the socket
// API. Why not a worker per client: echo must move data both ways with flow control; a
// poll loop that reads only as much as the send ring can take (min(readable, sendSpace))
// can always write it back at once, so ONE buffer serves all clients and no per-client
// copy is held. Memory: bufferSize bytes + a PollSet and a client table of maxClients
// entries, all made at construction. More clients than maxClients wait in the listen
// backlog (then their SYNs are dropped and retried, as on Linux).

import { SocketError } from "../tcp/errors"
import { Sockets } from "../socket/sockets"
import { TcpListener } from "../socket/listener"
import { POLLIN, POLLOUT, PollSet } from "../socket/poll"
import { Task } from "../socket/scheduler"
import { TcpSocket, WOULD_BLOCK } from "../socket/socket"
import { allocBytes } from "../util/bytes"

export const ECHO_PORT = 7
/** Linux EIO: the socket took fewer bytes than it said it had room for. */
const EIO = 5

export interface EchoOptions {
    port?: number
    backlog?: number
    /** Clients served at once (default 4). */
    maxClients?: number
    /** The one copy buffer (default 512 bytes). */
    bufferSize?: number
}

/** Chunks moved per client per loop pass: bounds the work between two polls (fairness). */
const CHUNKS_PER_PASS = 8

/** @devsWhenUsed */
export class EchoServer implements Task {
    readonly port: number
    readonly backlog: number
    readonly maxClients: number
    // Statistics
    accepted = 0
    finished = 0
    failed = 0
    bytesEchoed = 0

    private sockets: Sockets
    private listener: TcpListener
    private clients: TcpSocket[] = []
    private set: PollSet
    private buf: Buffer
    /** (listener and stopped are set by start(): no initialisers, to save code.) */
    private stopped: boolean

    constructor(sockets: Sockets, opts?: EchoOptions) {
        this.sockets = sockets
        const o: EchoOptions = opts || {}
        this.port = o.port || ECHO_PORT
        this.backlog = o.backlog || 4
        this.maxClients = o.maxClients || 4
        this.buf = allocBytes(o.bufferSize || 512)
        for (let i = 0; i < this.maxClients; i++) this.clients.push(null)
        this.set = new PollSet(this.maxClients + 1)
    }

    /** Listens (throws EADDRINUSE ...) and starts the server task. */
    start(): void {
        this.stopped = false
        this.listener = this.sockets.listen(this.port, this.backlog)
        this.sockets.scheduler().spawn(this)
    }

    /** Stops listening and resets the clients still connected; the task ends. */
    stop(): void {
        this.stopped = true
        if (this.listener && this.listener.isOpen()) this.listener.close() // wakes poll()
    }

    /** Clients connected now. */
    clientCount(): number {
        let n = 0
        for (let i = 0; i < this.clients.length; i++) if (this.clients[i] !== null) n++
        return n
    }

    async run(): Promise<void> {
        const sched = this.sockets.scheduler()
        const set = this.set
        while (!this.stopped) {
            // Interest: new clients only while there is room; per client, read while its
            // send ring has room, else wait until it has (backpressure from a slow reader).
            set.clear()
            let connected = 0 // (counted here, not by clientCount(): one method less in the firmware)
            for (let i = 0; i < this.clients.length; i++) {
                const s = this.clients[i]
                if (s === null) continue
                connected++
                set.add(s, s.sendSpace() > 0 ? POLLIN : POLLOUT)
            }
            set.add(this.listener, connected < this.maxClients ? POLLIN : 0)
            await this.sockets.poll(set, -1)
            if (this.stopped) break
            for (let i = 0; i < this.clients.length; i++) {
                const s = this.clients[i]
                if (s !== null && set.reventsOf(s) !== 0) this.serve(i)
            }
            if (set.reventsOf(this.listener) !== 0) this.acceptAll()
            // Yield once per pass: the pump must run, and the VM watchdog needs a suspension.
            await sched.sleep(0)
        }
        for (let i = 0; i < this.clients.length; i++) this.drop(i, true)
    }

    private acceptAll(): void {
        for (let i = 0; i < this.clients.length; i++) {
            if (this.clients[i] !== null) continue
            const s = this.listener.acceptNow()
            if (s === null) return
            s.setNoDelay(true) // echo what came at once: the client may wait for it
            this.clients[i] = s
            this.accepted++
        }
    }

    /** Moves what can be moved for client i without blocking. */
    private serve(i: number): void {
        const s = this.clients[i]
        const buf = this.buf
        try {
            for (let k = 0; k < CHUNKS_PER_PASS; k++) {
                let n = s.sendSpace()
                if (n === 0 && s.error() === 0) return // wait for POLLOUT
                if (n > buf.length) n = buf.length
                if (n === 0) n = 1 // an error is pending: let readNow() report it
                const got = s.readNow(buf, 0, n)
                if (got === WOULD_BLOCK) return
                if (got === 0) {
                    // The client shut down its side and everything before was echoed
                    // (queued): close; the FIN follows the queued data.
                    this.finished++
                    this.drop(i, false)
                    return
                }
                // It fits (got <= sendSpace); anything else would lose bytes: give up on the client.
                if (s.writeNow(buf, 0, got) !== got) throw new SocketError(EIO)
                this.bytesEchoed += got
            }
        } catch (e) {
            this.failed++
            this.drop(i, true)
        }
    }

    private drop(i: number, reset: boolean): void {
        const s = this.clients[i]
        if (s === null) return
        this.clients[i] = null
        if (!s.isOpen()) return
        if (reset) s.abort()
        else s.closeNow()
    }
}
