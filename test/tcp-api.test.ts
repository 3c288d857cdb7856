// The synchronous API a socket layer wraps: readiness, events, queued sends, errors.
import { describe, expect, test } from "vitest"
import { established, Harness, listening, REMOTE_IP, REMOTE_ISS, synSent, to, u32 } from "./helpers/tcp-fixtures"
import { EBADF, ECONNRESET, ENOTCONN, EPIPE, RECV_EOF } from "../src/tcp/errors"
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
