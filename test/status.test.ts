// The status service (src/apps/status.ts, port 80) on stack a, read by clients on stack b,
// two NetStacks on a MemoryLink in virtual time.
import { afterEach, describe, expect, test } from "vitest"
import { EchoServer } from "../src/apps/echo"
import { StatusServer } from "../src/apps/status"
import { TcpSocket } from "../src/socket/socket"
import { NetStack } from "../src/stack"
import { allocationCount } from "../src/util/bytes"
import { buildSegment } from "./helpers/tcp-fixtures"
import { ipv4Frame } from "./helpers/frames"
import { A_ADDR, A_IP, Pair, sleep, startPair } from "./helpers/stack-pair"

let pair: Pair = null
let status: StatusServer = null
afterEach(() => {
    status?.stop()
    status = null
    pair?.stop()
    pair = null
})

const HEAD = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
const GET = "GET / HTTP/1.1\r\nHost: 10.0.0.1\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"

/** Reads everything until the server closes. */
async function readAll(c: TcpSocket): Promise<string> {
    const buf = Buffer.alloc(1500)
    let out = ""
    for (;;) {
        const n = await c.read(buf, 0, buf.length)
        if (n === 0) break
        out += buf.toString("latin1", 0, n)
    }
    return out
}

/** Connects to port 80 of a, sends `request` (none: null), and returns the answer and how long it took. */
async function fetchStatus(p: Pair, request: string | Buffer | null, halfClose = false): Promise<{ text: string; ms: number; port: number }> {
    const t0 = p.sched.nowMs()
    const c = await p.b.sockets.connect(A_IP, 80)
    const port = c.localPort
    if (request !== null) {
        const b = typeof request === "string" ? Buffer.from(request, "latin1") : request
        await c.write(b, 0, b.length)
    }
    if (halfClose) c.shutdown()
    const text = await readAll(c)
    await c.close()
    return { text, ms: p.sched.nowMs() - t0, port }
}

/** A SYN from a host that never answers ARP: its request stays in the listener's SYN queue. */
function injectHalfOpen(a: NetStack, srcIp: number, srcPort: number, dstPort: number): void {
    const seg = buildSegment({ flags: "S", seq: 1000, srcPort, dstPort, mss: 1460, win: 8192 }, srcIp, A_ADDR)
    const frame = ipv4Frame([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 0x33], { src: srcIp, dst: A_ADDR, protocol: 6 }, seg)
    a.iface.input(frame, frame.length, a.scheduler.nowMs())
    a.kick()
}

function lines(text: string): string[] {
    return text.split("\n")
}

describe("status page over HTTP", () => {
    test("shows an ESTABLISHED echo connection with its 4-tuple, a listener's SYN and accept queues, ARP and non-zero counters", async () => {
        const p = (pair = await startPair({ tcpListeners: 3, tcpConnections: 5 }))
        const echo = new EchoServer(p.a.sockets, { maxClients: 1 })
        echo.start()
        const extra = p.a.sockets.listen(8080, 2) // never accepted
        status = new StatusServer(p.a, { driverCounters: { spiTransactions: 1234, rxOverflows: 0 } })
        status.start()

        // A live echo connection: bytes went there and back.
        const c1 = await p.b.sockets.connect(A_IP, 7)
        await c1.write(Buffer.from("ping"), 0, 4)
        const back = Buffer.alloc(4)
        expect(await c1.read(back, 0, 4)).toBe(4)
        // One connection waiting in 8080's accept queue, one half-open request in its SYN queue.
        const c2 = await p.b.sockets.connect(A_IP, 8080)
        injectHalfOpen(p.a, 0x0a000003, 40000, 8080)
        // A drop with a reason: an IPv4 header with a bad checksum.
        const bad = ipv4Frame([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], { src: 0x0a000002, dst: A_ADDR, protocol: 6 }, Buffer.alloc(20))
        bad[14 + 10] ^= 0xff
        p.a.iface.input(bad, bad.length, p.sched.nowMs())
        await sleep(p, 10)

        const r = await fetchStatus(p, GET)
        const text = r.text
        expect(text.startsWith(HEAD)).toBe(true)
        const body = lines(text.slice(HEAD.length))
        expect(body[0]).toMatch(/^uptime \d+ s$/)
        expect(body[1]).toBe("ip 10.0.0.1 mask 255.255.255.0 gw 10.0.0.254 mac 02:00:00:00:00:01 static")
        expect(body[2]).toContain(`memory: stack buffers ${p.a.allocatedBytes} B (5 x 4096 B of TCP rings), status page 2560 B`)

        // The socket table: columns line up under the header.
        const header = body.find((l) => l.startsWith("Recv-Q"))
        expect(header).toBeDefined()
        const col = (l: string, name: string) => l.indexOf(name)
        const row = (re: RegExp) => {
            const found = body.filter((l) => re.test(l))
            expect(found.length, `${re} in\n${text}`).toBe(1)
            return found[0]
        }
        const echoRow = row(new RegExp(`^0 +[04] +10\\.0\\.0\\.1:7 +10\\.0\\.0\\.2:${c1.localPort} +ESTABLISHED$`))
        expect(echoRow.indexOf("10.0.0.2")).toBe(col(header, "Foreign Address"))
        expect(echoRow.indexOf("ESTABLISHED")).toBe(col(header, "State"))
        expect(echoRow.indexOf("10.0.0.1")).toBe(col(header, "Local Address"))
        row(/^0 +0 +10\.0\.0\.1:7 +0\.0\.0\.0:\* +LISTEN +syn-q 0\/4 accept-q 0\/4$/)
        row(/^0 +0 +10\.0\.0\.1:8080 +0\.0\.0\.0:\* +LISTEN +syn-q 1\/2 accept-q 1\/2$/)
        row(/^0 +0 +10\.0\.0\.1:80 +0\.0\.0\.0:\* +LISTEN +syn-q 0\/1 accept-q 0\/1$/)
        row(new RegExp(`^0 +0 +10\\.0\\.0\\.1:8080 +10\\.0\\.0\\.2:${c2.localPort} +ESTABLISHED +\\(no user\\)$`))
        row(/^0 +0 +10\.0\.0\.1:8080 +10\.0\.0\.3:40000 +SYN-RECEIVED$/)
        // The status connection itself: the request was read, the page not yet sent.
        row(new RegExp(`^0 +0 +10\\.0\\.0\\.1:80 +10\\.0\\.0\\.2:${r.port} +ESTABLISHED$`))

        // ARP: b resolved; the silent host still pending.
        const arpAt = body.indexOf("arp")
        expect(arpAt).toBeGreaterThan(0)
        row(/^10\.0\.0\.2 lladdr 02:00:00:00:00:02 resolved age \d+ s$/)
        row(/^10\.0\.0\.3 lladdr 00:00:00:00:00:00 pending age \d+ s$/)

        // Counters: only the non-zero ones, the drop reason among them.
        const counters = text.slice(text.indexOf("interface:"))
        const value = (name: string) => Number(new RegExp(` ${name}=(\\d+)`).exec(counters)?.[1] ?? NaN)
        expect(value("ipDropChecksum")).toBe(1)
        expect(value("rxFrames")).toBeGreaterThan(5)
        expect(value("rxFrames")).toBeLessThanOrEqual(p.a.iface.counters.rxFrames)
        expect(counters).not.toMatch(/ ipDropVersion=/)
        expect(counters).not.toMatch(/=0\b/)
        expect(value("connectionsAccepted")).toBe(p.a.tcp.counters.connectionsAccepted)
        expect(counters).toMatch(/\ndriver: spiTransactions=1234\n/)
        expect(counters).not.toMatch(/rxOverflows/)
        for (const l of lines(counters)) expect(l.length).toBeLessThan(120)

        expect(status.served).toBe(1)
        expect(status.page.truncated).toBe(false)
        extra.close()
        echo.stop()
    })

    test("a client that sends nothing, garbage, or only half-closes still gets the page", async () => {
        const p = (pair = await startPair({ tcpListeners: 3 }))
        status = new StatusServer(p.a, { timeoutMs: 2000 })
        status.start()

        // Nothing at all: answered when the 2 s request timeout expires.
        const silent = await fetchStatus(p, null)
        expect(silent.text.startsWith(HEAD)).toBe(true)
        expect(silent.text).toContain("LISTEN")
        expect(silent.ms).toBeGreaterThanOrEqual(2000)
        expect(silent.ms).toBeLessThan(3000)

        // A line but no blank line (nc user typing "hello"): also after the timeout.
        const hello = await fetchStatus(p, "hello\n")
        expect(hello.text.startsWith(HEAD)).toBe(true)
        expect(hello.ms).toBeGreaterThanOrEqual(2000)

        // Binary garbage, more than the request buffer, without a newline.
        const junk = Buffer.alloc(300)
        for (let i = 0; i < junk.length; i++) junk[i] = (i * 7 + 3) & 0xff
        junk.forEach((v, i) => (junk[i] = v === 10 ? 11 : v))
        const garbage = await fetchStatus(p, junk)
        expect(garbage.text.startsWith(HEAD)).toBe(true)

        // End of stream at once: answered at once.
        const eof = await fetchStatus(p, null, true)
        expect(eof.text.startsWith(HEAD)).toBe(true)
        expect(eof.ms).toBeLessThan(500)

        // A whole request: answered at once, and bare "\n\n" line ends count too.
        expect((await fetchStatus(p, GET)).ms).toBeLessThan(500)
        expect((await fetchStatus(p, "GET /\n\n")).ms).toBeLessThan(500)
        expect(status.served).toBe(6)
        expect(status.failed).toBe(0)
    })

    test("concurrent requests are served one at a time from the backlog, allocating nothing", async () => {
        const p = (pair = await startPair({ tcpListeners: 3, tcpConnections: 6 }))
        status = new StatusServer(p.a, { timeoutMs: 1000 })
        status.start()
        await fetchStatus(p, GET) // the first render may set things up
        const before = allocationCount()
        const t0 = p.sched.nowMs()
        // Three clients at once that never finish their request: each holds the worker for its
        // 1 s timeout; with a backlog of 1 the third one's SYN is turned away and retried.
        const maxServed = { held: 0 }
        let done = false
        const watch = (async () => {
            while (!done) {
                let held = 0
                for (const s of p.a.sockets.sockets) if (s.isOpen() && s.localPort === 80) held++
                maxServed.held = Math.max(maxServed.held, held)
                await sleep(p, 50)
            }
        })()
        // (A request without its blank line, not silence: a silent client that got a SYN cookie
        // while the accept queue was full would wait forever, as on Linux — its ACK was dropped
        // and it has no data to retransmit.)
        const results = await Promise.all([0, 1, 2].map(() => fetchStatus(p, "GET / HTTP/1.0\r\n")))
        done = true
        await watch
        for (const r of results) expect(r.text.startsWith(HEAD)).toBe(true)
        const ends = results.map((r) => r.ms).sort((x, y) => x - y)
        expect(ends[0]).toBeGreaterThanOrEqual(1000)
        expect(ends[1]).toBeGreaterThanOrEqual(2000)
        expect(ends[2]).toBeGreaterThanOrEqual(3000)
        expect(p.sched.nowMs() - t0).toBeLessThan(8000)
        expect(maxServed.held).toBe(1) // the user (the worker) holds one connection at a time
        expect(allocationCount()).toBe(before)
        expect(status.served).toBe(4)
    })

    test("a client that does not read gets what fits in the time limit, then the next one is served", async () => {
        const p = (pair = await startPair({ tcpListeners: 3, tcpSendBuffer: 512 }))
        status = new StatusServer(p.a, { timeoutMs: 1000 })
        status.start()
        const c = await p.b.sockets.connect(A_IP, 80)
        c.setRecvBuffer(256)
        await c.write(Buffer.from(GET), 0, GET.length)
        await sleep(p, 3000) // never reads meanwhile
        const next = await fetchStatus(p, GET)
        expect(next.text.startsWith(HEAD)).toBe(true)
        expect(next.text.length).toBeGreaterThan(512 + 256)
        // The slow client got the start of the page, then the end of the stream.
        const slow = await readAll(c)
        expect(slow.startsWith(HEAD)).toBe(true)
        expect(slow.length).toBeLessThan(next.text.length)
        expect(status.served).toBe(2)
    })

    test("a page larger than its buffer is cut and says so; stop() ends the service", async () => {
        const p = (pair = await startPair({ tcpListeners: 3 }))
        status = new StatusServer(p.a, { pageSize: 300 })
        status.start()
        const r = await fetchStatus(p, GET)
        expect(r.text.length).toBeLessThanOrEqual(300)
        expect(r.text.endsWith("\n[page truncated]\n")).toBe(true)
        expect(status.page.truncated).toBe(true)
        status.stop()
        await sleep(p, 10)
        expect(p.a.sockets.netstatText()).not.toMatch(/:80 .*LISTEN/)
        await expect(p.b.sockets.connect(A_IP, 80)).rejects.toThrow(/ECONNREFUSED/)
    })
})

describe("status page rendering", () => {
    test("shows the DHCP state, and pending ARP with zero MAC; renders the same twice", async () => {
        const p = (pair = await startPair({ dhcp: true, dhcpMaxDiscovers: 0 }))
        await sleep(p, 100)
        status = new StatusServer(p.a, { pageSize: 2048 })
        const page = status.page
        const n = page.render(p.sched.nowMs(), "")
        const text = page.buf.toString("latin1", 0, n)
        expect(text).toMatch(/^uptime 0 s\nip 0\.0\.0\.0 mask 0\.0\.0\.0 gw 0\.0\.0\.0 mac 02:00:00:00:00:01 dhcp selecting\n/)
        expect(text).toMatch(/\nRecv-Q Send-Q Local Address +Foreign Address +State\n\narp\n\ninterface:/)
        const before = allocationCount()
        const n2 = page.render(p.sched.nowMs(), "")
        expect(page.buf.toString("latin1", 0, n2)).toBe(text)
        expect(allocationCount()).toBe(before)
    })

    test("uptime is the scheduler's clock (time since boot); a full buffer never overruns", async () => {
        const p = (pair = await startPair())
        status = new StatusServer(p.a, { pageSize: 64 })
        await sleep(p, 65432 - p.sched.nowMs())
        const n = status.page.render(p.sched.nowMs(), "")
        const text = status.page.buf.toString("latin1", 0, n)
        expect(text.startsWith("uptime 65 s\nip 10.0.0.1")).toBe(true)
        expect(n).toBe(64)
    })
})
