// The synchronous API a socket layer wraps: readiness, events, queued sends, errors.
import { describe, expect, test } from "vitest"
import { established, Harness, listening, REMOTE_IP, REMOTE_ISS, synSent, to, u32 } from "./helpers/tcp-fixtures"
import { EBADF, ECONNABORTED, ECONNRESET, EINVAL, ENOTCONN, EPIPE, RECV_EOF } from "../src/tcp/errors"
import { TCP_EV_CLOSED, TCP_EV_ERROR, TCP_EV_READABLE, TCP_EV_WRITABLE } from "../src/tcp/events"
import { TcpConnStats } from "../src/tcp/info"

describe("API", () => {
    test("data written in SYN-SENT goes out once the connection is established", () => {
        const f = synSent()
        expect(f.h.write(f.id, "early")).toBe(5)
        f.h.none()
        f.h.send(to(f, { flags: "SA", seq: REMOTE_ISS, ack: f.snd }))
        expect(f.h.one()).toMatchObject({ flags: "PA", seq: f.snd, ack: REMOTE_ISS + 1, payload: Buffer.from("early") })
    })
    test("send/recv: a range outside the buffer is EINVAL, and nothing is queued or consumed", () => {
        const f = established()
        const L = f.h.layer
        const hi = Buffer.from("hi")
        // A length beyond the buffer would queue stale ring bytes (an earlier connection's data).
        expect(L.send(f.id, hi, 0, 30, f.h.now)).toBe(-EINVAL)
        expect(L.send(f.id, hi, 1, 2, f.h.now)).toBe(-EINVAL)
        expect(L.send(f.id, hi, -1, 1, f.h.now)).toBe(-EINVAL)
        expect(L.send(f.id, hi, 0, -1, f.h.now)).toBe(-EINVAL)
        expect(L.send(f.id, hi, NaN, 1, f.h.now)).toBe(-EINVAL)
        f.h.none()
        expect(L.sendSpace(f.id)).toBe(4096)
        expect(L.send(f.id, hi, 0, 2, f.h.now)).toBe(2) // the whole buffer is fine
        expect(L.send(f.id, hi, 2, 0, f.h.now)).toBe(0) // so is an empty range at its end
        f.h.send(to(f, { flags: "PA", seq: f.rcv, ack: f.snd, payload: "data!" }))
        const small = Buffer.alloc(4)
        expect(L.recv(f.id, small, 0, 10, f.h.now)).toBe(-EINVAL)
        expect(L.recv(f.id, small, 3, 2, f.h.now)).toBe(-EINVAL)
        expect(L.bytesReadable(f.id)).toBe(5) // nothing consumed
        expect(L.recv(f.id, small, 0, 4, f.h.now)).toBe(4)
        expect(small.toString()).toBe("data")
    })
    test("readiness follows the connection", () => {
        const f = established({ tcpSendBuffer: 100 })
        const L = f.h.layer
        expect(L.readable(f.id)).toBe(false)
        expect(L.writable(f.id)).toBe(true)
        expect(f.h.write(f.id, Buffer.alloc(150))).toBe(100)
        expect(L.writable(f.id)).toBe(false)
        expect(f.h.write(f.id, "x")).toBe(0) // would block
        f.h.send(to(f, { flags: "PA", seq: f.rcv, ack: f.snd, payload: "in" }))
        expect(L.readable(f.id)).toBe(true)
        expect(L.bytesReadable(f.id)).toBe(2)
        expect(f.h.read(f.id).toString()).toBe("in")
        expect(L.recv(f.id, Buffer.alloc(4), 0, 4, f.h.now)).toBe(0) // would block
        f.h.send(to(f, { flags: "FA", seq: u32(f.rcv + 2), ack: f.snd }))
        expect(L.readable(f.id)).toBe(true)
        expect(L.recv(f.id, Buffer.alloc(4), 0, 4, f.h.now)).toBe(RECV_EOF)
        expect(L.hasError(f.id)).toBe(false)
    })
    test("events: readable, writable, error|closed", () => {
        const f = established()
        const L = f.h.layer
        f.h.events = []
        f.h.send(to(f, { flags: "PA", seq: f.rcv, ack: f.snd, payload: "a" }))
        f.h.write(f.id, "b")
        f.h.take()
        f.h.send(to(f, { flags: "A", seq: u32(f.rcv + 1), ack: u32(f.snd + 1) }))
        f.h.send(to(f, { flags: "R", seq: u32(f.rcv + 1) }))
        expect(f.h.events.map((e) => e.events)).toEqual([
            TCP_EV_READABLE, TCP_EV_WRITABLE, TCP_EV_ERROR | TCP_EV_READABLE | TCP_EV_WRITABLE | TCP_EV_CLOSED,
        ])
        expect(f.h.events.every((e) => e.handle === f.id)).toBe(true)
        expect(L.hasError(f.id)).toBe(true)
        expect(L.error(f.id)).toBe(ECONNRESET)
    })
    test("the event hook may call back into the layer", () => {
        const { h, lid } = listening()
        const got: string[] = []
        h.layer.onEvent = (handle, ev) => {
            if (ev & 16) {
                const id = h.layer.accept(handle)
                got.push("accepted " + (id >= 0))
            } else if (ev & TCP_EV_READABLE) {
                got.push(h.read(handle).toString())
            }
        }
        h.send({ flags: "S", seq: REMOTE_ISS })
        const sa = h.one()
        h.send({ flags: "A", seq: REMOTE_ISS + 1, ack: u32(sa.seq + 1) })
        h.send({ flags: "PA", seq: REMOTE_ISS + 1, ack: u32(sa.seq + 1), payload: "hello" })
        expect(got).toEqual(["accepted true", "hello"])
        expect(lid).toBeGreaterThanOrEqual(0)
    })
    test("a throwing event hook is counted and does not silence later events", () => {
        const f = established()
        let calls = 0
        f.h.layer.onEvent = () => {
            calls++
            throw new Error("bug in the hook")
        }
        f.h.send(to(f, { flags: "PA", seq: f.rcv, ack: f.snd, payload: "a" })) // does not throw
        expect(calls).toBe(1)
        f.h.send(to(f, { flags: "PA", seq: u32(f.rcv + 1), ack: f.snd, payload: "b" }))
        expect(calls).toBe(2) // still delivered
        expect(f.h.layer.counters.internalErrors).toBe(2)
        expect(f.h.read(f.id).toString()).toBe("ab")
    })
    test("an exception in one connection's timers does not stop the others; that one is aborted", () => {
        const h = new Harness()
        const open = (port: number) => {
            const id = h.layer.connect(REMOTE_IP, port, h.now)
            const syn = h.one()
            h.send({ flags: "SA", seq: REMOTE_ISS, ack: u32(syn.seq + 1), srcPort: port, dstPort: syn.srcPort })
            h.take()
            return { id, lport: syn.srcPort, snd: u32(syn.seq + 1) }
        }
        const a = open(81)
        const b = open(82)
        expect(a.id & 0xff).toBeLessThan(b.id & 0xff) // a's timers run first
        // a has data in flight whose retransmission will throw; b has a delayed ACK due.
        h.write(a.id, "x")
        h.take()
        ;(h.layer.conns[a.id & 0xff].rtt as any).backoff = () => {
            throw new Error("bug")
        }
        h.send({ flags: "PA", seq: REMOTE_ISS + 1, ack: b.snd, srcPort: 82, dstPort: b.lport, payload: "y" })
        h.advance(1000) // both due
        expect(h.take().filter((s) => s.dstPort === 82).map((s) => s.flags)).toEqual(["A"])
        expect(h.layer.counters.internalErrors).toBe(1)
        expect(h.layer.error(a.id)).toBe(ECONNABORTED)
        expect(h.stateOf(b.id)).toBe("ESTABLISHED")
        expect(h.layer.pollAt()).toBeGreaterThan(h.now) // no spinning on the broken one
    })
    test("errors: EPIPE after shutdown, ENOTCONN, EBADF", () => {
        const f = established()
        const L = f.h.layer
        L.shutdown(f.id, f.h.now)
        expect(f.h.write(f.id, "x")).toBe(-EPIPE)
        expect(L.shutdown(f.id, f.h.now)).toBe(0)
        const t = established()
        t.h.send(to(t, { flags: "FA", seq: t.rcv, ack: t.snd }))
        t.h.layer.shutdown(t.id, t.h.now)
        t.h.send(to(t, { flags: "A", seq: u32(t.rcv + 1), ack: u32(t.snd + 1) }))
        expect(t.h.stateOf(t.id)).toBe("CLOSED")
        expect(t.h.layer.recv(t.id, Buffer.alloc(1), 0, 1, t.h.now)).toBe(RECV_EOF)
        expect(t.h.layer.shutdown(t.id, t.h.now)).toBe(0)
        const h = new Harness()
        expect(h.layer.send(3, Buffer.alloc(1), 0, 1, h.now)).toBe(-EBADF)
        expect(h.layer.recv(3, Buffer.alloc(1), 0, 1, h.now)).toBe(-EBADF)
        expect(h.layer.close(3, h.now)).toBe(-EBADF)
        expect(h.layer.setNoDelay(3, true, h.now)).toBe(-EBADF)
        expect(ENOTCONN).toBe(107)
    })
    test("per-connection statistics", () => {
        const f = established()
        f.h.write(f.id, "abc")
        f.h.take()
        f.h.send(to(f, { flags: "PA", seq: f.rcv, ack: u32(f.snd + 3), payload: "xy" }))
        const s = new TcpConnStats()
        expect(f.h.layer.stats(f.id, s)).toBe(true)
        expect(s).toMatchObject({ state: 4, bytesOut: 3, bytesIn: 2, sndMss: 1460, rcvMss: 1460, segsIn: 2, retransmits: 0 })
        expect(s.segsOut).toBe(3) // SYN, ACK, data
        expect(f.h.layer.stats(99, s)).toBe(false)
    })
    test("connect without an address is EADDRNOTAVAIL", () => {
        const h = new Harness()
        h.ip.ip = 0
        expect(h.layer.connect(REMOTE_IP, 80, h.now)).toBe(-99)
    })
})
