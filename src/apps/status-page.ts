// The status page: what a person needs to see how the device is doing, as plain text —
// uptime, addresses and how they were obtained, the memory budget, every TCP socket
// (state, 4-tuple, bytes in its rings; listeners with SYN-queue and accept-queue
// occupancy against the backlog; half-open requests), the ARP cache, and the non-zero
// counters of the interface (drops by reason), TCP and the driver.
//
// Rendered into ONE buffer made at construction, by one small formatter (fmt: decimal,
// dotted quad, port, column stops) instead of string concatenation: DeviceScript strings
// are heap objects and its VM is slow. Compactness matters as much (the firmware image
// holds at most 64 KB of function code): each line is one fmt() call where it can be.
// The stack is only read; its tables and counters directly (not through the netstat rows,
// which cost far more code). A page that does not fit is cut and ends with a marker line.

import { ARP_FREE, ARP_RESOLVED } from "../iface/arp-cache"
import { NetStack } from "../stack"

/** TcpState names, 13 characters each (index = state, RFC 9293 §3.3.2 order). */
const TCP_STATES =
    "CLOSED       LISTEN       SYN-SENT     SYN-RECEIVED ESTABLISHED  FIN-WAIT-1   FIN-WAIT-2   CLOSE-WAIT   CLOSING      LAST-ACK     TIME-WAIT    "
const LISTEN = 1
const SYN_RECEIVED = 3
/** DhcpClient states (DHCP_INIT ... DHCP_REBOOTING), 10 characters each. */
const DHCP_STATES = "init      selecting requestingbound     renewing  rebinding fallback  rebooting "
/** ARP entry states (free, pending, resolved) and "stale" (resolved, past its TTL), 8 each. */
const ARP_STATES = "free    pending resolvedstale   "
const HEX = "0123456789abcdef"
/**
 * Column stops of the socket table, as character codes: 7 (Send-Q), 14 (local address),
 * 36 ("$", foreign address), 58 (":", state), 71 ("G", listener queues).
 */
const COLUMNS = "\x07\x0e$:G"
const SOCKET_HEADER = "Recv-Q\tSend-Q\tLocal Address\tForeign Address\tState\n"
const CUT_MARKER = "\n[page truncated]\n"

/** @devsWhenUsed */
export class StatusPage {
    /** The page; render() returns how many bytes of it are valid. */
    readonly buf: Buffer
    /** The last render() did not fit and was cut. (Fields render() sets have no initialiser: code size.) */
    truncated: boolean
    /** The driver's counters object (plain numbers), or null. */
    driverCounters: any
    private stack: NetStack
    private pos: number
    private lineStart: number
    /** Content ends here; the rest is kept for the cut marker. */
    private end: number

    constructor(stack: NetStack, buf: Buffer, driverCounters: any) {
        this.stack = stack
        this.buf = buf
        this.driverCounters = driverCounters
    }

    /**
     * Renders the page after `head` (e.g. an HTTP header, ending in a newline); returns its
     * length. now: the scheduler's clock, which counts from boot (so it is the uptime).
     */
    render(now: number, head: string): number {
        const st = this.stack
        const ifc = st.iface
        const tcp = st.tcp
        this.pos = 0
        this.lineStart = 0
        this.end = this.buf.length - CUT_MARKER.length
        this.truncated = false
        this.fmt(head)

        this.fmt("uptime # s\nip @ mask @ gw @ mac ", now / 1000, ifc.ip, ifc.netmask, ifc.gateway)
        this.mac(ifc.mac)
        const dhcp = st.dhcp
        if (dhcp === null) this.fmt(" static")
        else {
            this.fmt(" dhcp ")
            this.word(DHCP_STATES, dhcp.state, 10)
        }
        this.fmt("\nmemory: stack buffers # B (# x # B of TCP rings), status page # B\n\n", st.allocatedBytes, tcp.conns.length, tcp.shared.sendBuffer + tcp.shared.recvBuffer, this.buf.length)
        this.fmt(SOCKET_HEADER)
        for (let i = 0; i < tcp.listeners.length; i++) {
            const l = tcp.listeners[i]
            if (!l.inUse) continue
            this.fmt("0\t0\t@:#\t0.0.0.0:*\t", ifc.ip, l.port)
            this.word(TCP_STATES, LISTEN, 13)
            this.fmt("\tsyn-q #/# accept-q #/#\n", l.synCount, l.backlog, l.acceptQueueLength(), l.backlog)
        }
        for (let i = 0; i < tcp.conns.length; i++) {
            const c = tcp.conns[i]
            if (!c.inUse) continue
            this.fmt("#\t#\t@:#\t@:#\t", c.recvRing.count, c.sendRing.count, c.localIp, c.localPort, c.remoteIp, c.remotePort)
            this.word(TCP_STATES, c.state, 13)
            if (!c.userHeld) this.fmt(" (no user)")
            if (c.error !== 0) this.fmt(" errno #", c.error)
            this.fmt("\n")
        }
        const reqs = tcp.requests.entries
        for (let i = 0; i < reqs.length; i++) {
            const r = reqs[i]
            if (r.listener < 0) continue
            this.fmt("0\t0\t@:#\t@:#\t", r.localIp, r.localPort, r.remoteIp, r.remotePort)
            this.word(TCP_STATES, SYN_RECEIVED, 13)
            this.fmt("\n")
        }

        // Like `ip neigh`: address, link-layer address, state, seconds since it was confirmed
        // (resolved) or asked for (pending).
        this.fmt("\narp\n")
        const arp = ifc.arp
        for (let i = 0; i < arp.entries.length; i++) {
            const e = arp.entries[i]
            if (e.state === ARP_FREE) continue
            const resolved = e.state === ARP_RESOLVED
            this.fmt("@ lladdr ", e.ip)
            this.mac(e.mac)
            this.fmt(" ")
            this.word(ARP_STATES, resolved && !arp.isFresh(e, now) ? 3 : e.state, 8)
            this.fmt(" age # s\n", (now - (resolved ? e.updatedMs : e.pendingSinceMs)) / 1000)
        }
        this.counters("\ninterface:", ifc.counters)
        this.counters("tcp:", tcp.counters)
        if (this.driverCounters) this.counters("driver:", this.driverCounters)

        if (this.truncated) {
            this.end = this.buf.length
            this.fmt(CUT_MARKER)
        }
        return this.pos
    }

    /** The non-zero fields of a counters object, several to a line. */
    private counters(title: string, o: any): void {
        this.fmt(title)
        const keys = Object.keys(o)
        for (let i = 0; i < keys.length; i++) {
            const v = o[keys[i]]
            if (!v) continue
            this.fmt(this.pos - this.lineStart > 64 ? "\n  " : " ")
            this.fmt(keys[i])
            this.fmt("=#", v)
        }
        this.fmt("\n")
    }

    // ------------------------------------------------------------------ writers

    /**
     * Writes t, replacing "#" with the next of the numbers a..f in decimal, "@" with the next
     * as a dotted quad, and a tab with spaces up to the next column stop; "\n" ends a line.
     * (No other text written through it holds "#", "@" or a tab: names, HTTP header.)
     */
    private fmt(t: string, a?: number, b?: number, c?: number, d?: number, e?: number, f?: number): void {
        let k = 0
        for (let i = 0; i < t.length; i++) {
            const x = t.charCodeAt(i)
            if (x === 35 || x === 64) {
                const v = k === 0 ? a : k === 1 ? b : k === 2 ? c : k === 3 ? d : k === 4 ? e : f
                k++
                if (x === 35) this.num(v)
                else {
                    for (let sh = 24; sh >= 0; sh -= 8) {
                        this.num((v >>> sh) & 255)
                        if (sh > 0) this.ch(46)
                    }
                }
            } else if (x === 9) {
                let s = 0
                while (s < 4 && COLUMNS.charCodeAt(s) <= this.pos - this.lineStart) s++ // past the last: one space
                const stop = this.lineStart + COLUMNS.charCodeAt(s)
                this.ch(32)
                while (this.pos < stop && this.pos < this.end) this.ch(32)
            } else {
                this.ch(x)
                if (x === 10) this.lineStart = this.pos
            }
        }
    }

    /** Entry i of a list of names padded with spaces to `width` characters (no name has a space). */
    private word(list: string, i: number, width: number): void {
        for (let k = i * width; k < i * width + width; k++) {
            const c = list.charCodeAt(k)
            if (c !== 32) this.ch(c)
        }
    }

    private ch(c: number): void {
        if (this.pos < this.end) this.buf[this.pos++] = c
        else this.truncated = true
    }

    /** A number as a non-negative integer, in decimal. */
    private num(n: number): void {
        n = n > 0 ? Math.floor(n) : 0
        let d = 1
        while (d * 10 <= n) d *= 10
        for (; d >= 1; d /= 10) {
            const q = Math.floor(n / d)
            this.ch(48 + q)
            n -= q * d
        }
    }

    private mac(m: Buffer): void {
        for (let i = 0; i < 6; i++) {
            if (i > 0) this.ch(58)
            this.ch(HEX.charCodeAt(m[i] >> 4))
            this.ch(HEX.charCodeAt(m[i] & 15))
        }
    }
}
