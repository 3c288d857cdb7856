// Status service (TCP port 80): a person reads the device's state from a laptop with
// `curl http://<ip>/` or `nc <ip> 80`. Any request gets `HTTP/1.0 200 OK`, a text/plain
// status page (status-page.ts), then the connection is closed.
//
// Design: one worker task, accept → read the request → render → write → close, written
// only against the socket API. The request is read until its blank line (end of the HTTP
// header, RFC 1945 §4.1) or for at most timeoutMs: a client that sends nothing, or garbage
// without a blank line, is answered when the time is up. Writing is bounded by the same
// time (a client that does not read gets what fits in the send ring), so no client holds
// the worker longer than 2 × timeoutMs. Requests are served one at a time; others wait in
// the listen backlog. Memory: the page buffer, made here; the request is read into it too
// (in 64-byte pieces: only its line ends matter, and the page is rendered after).

import { NetStack } from "../stack"
import { TcpListener } from "../socket/listener"
import { Task } from "../socket/scheduler"
import { POLLIN, POLLOUT, PollSet } from "../socket/poll"
import { TcpSocket, WOULD_BLOCK } from "../socket/socket"
import { allocBytes } from "../util/bytes"
import { StatusPage } from "./status-page"

export const STATUS_PORT = 80
/**
 * Clients waiting to be served (each of the SYN queue and the accept queue): one, as
 * connection slots are shared by all servers (see src/main.ts); more are turned away at SYN
 * time and their TCP retries.
 */
const STATUS_BACKLOG = 1
const REQUEST_CHUNK = 64
const HTTP_HEAD = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"

export interface StatusOptions {
    /** The page buffer, bytes (default 2560, at least 64); a longer page is cut with a marker. */
    pageSize?: number
    /** Longest wait for a request, and for the page to be queued, ms (default 2000). */
    timeoutMs?: number
    /** The driver's counters object (e.g. Enc28j60.counters), shown when given. */
    driverCounters?: any
}

/** @devsWhenUsed */
export class StatusServer implements Task {
    readonly page: StatusPage
    // Statistics
    served = 0
    failed = 0

    private stack: NetStack
    private timeoutMs: number
    private set: PollSet
    /** Set by start() and run() (no initialisers: code size). */
    private listener: TcpListener
    private current: TcpSocket
    private stopped: boolean

    constructor(stack: NetStack, opts?: StatusOptions) {
        const o: StatusOptions = opts || {}
        this.stack = stack
        this.timeoutMs = o.timeoutMs || 2000
        this.set = new PollSet(1)
        this.page = new StatusPage(stack, allocBytes(o.pageSize || 2560), o.driverCounters || null)
    }

    /** Listens (throws EADDRINUSE, EMFILE ...) and starts the worker. */
    start(): void {
        this.stopped = false
        this.listener = this.stack.sockets.listen(STATUS_PORT, STATUS_BACKLOG)
        this.stack.scheduler.spawn(this)
    }

    /** Stops listening and resets a client being served; the worker ends. */
    stop(): void {
        this.stopped = true
        if (this.listener && this.listener.isOpen()) this.listener.close()
        const s = this.current
        if (s && s.isOpen()) s.abort()
    }

    async run(): Promise<void> {
        while (!this.stopped) {
            let s: TcpSocket = null
            try {
                s = await this.listener.accept()
            } catch (e) {
                return // the listener was closed (stop())
            }
            this.current = s
            try {
                await this.serve(s)
                this.served++
            } catch (e) {
                this.failed++ // reset by the peer, or stop()
            }
            if (s.isOpen()) s.abort()
            this.current = null
        }
    }

    private async serve(s: TcpSocket): Promise<void> {
        const sched = this.stack.scheduler
        // The request: read up to its blank line, end of stream, or the time limit.
        const req = this.page.buf
        let deadline = sched.nowMs() + this.timeoutMs
        let newlines = 0
        while (newlines < 2) {
            const n = s.readNow(req, 0, REQUEST_CHUNK)
            if (n === 0) break
            if (n === WOULD_BLOCK) {
                if (!(await this.wait(s, POLLIN, deadline))) break
                continue
            }
            for (let i = 0; i < n; i++) {
                const b = req[i]
                if (b === 10) {
                    if (++newlines === 2) break
                } else if (b !== 13) newlines = 0
            }
        }
        // The answer: as much of the page as the client takes within the time limit.
        const page = this.page
        const len = page.render(sched.nowMs(), HTTP_HEAD)
        deadline = sched.nowMs() + this.timeoutMs
        let off = 0
        while (off < len) {
            const n = s.writeNow(page.buf, off, len - off)
            if (n === WOULD_BLOCK) {
                if (!(await this.wait(s, POLLOUT, deadline))) break
                continue
            }
            off += n
        }
        s.closeNow() // FIN after the queued page
    }

    /** Waits until s has `events` (or an error); false when the deadline has passed. */
    private async wait(s: TcpSocket, events: number, deadline: number): Promise<boolean> {
        const left = deadline - this.stack.scheduler.nowMs()
        if (left <= 0) return false
        const set = this.set
        set.clear()
        set.add(s, events)
        await this.stack.sockets.poll(set, left)
        return true
    }
}
