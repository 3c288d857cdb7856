// TCP on the real Interface (src/iface/interface.ts): two stacks joined by an Ethernet
// "cable" resolve each other with ARP and move data; frames come from the interface's pool.
import { describe, expect, test } from "vitest"
import { createHash } from "node:crypto"
import { makeConfig } from "../src/config"
import { Interface } from "../src/iface/interface"
import { TcpLayer } from "../src/tcp/tcp-layer"
import { EADDRNOTAVAIL, ECONNABORTED, EINVAL, RECV_EOF } from "../src/tcp/errors"
import { TCP_EV_ERROR } from "../src/tcp/events"
import { TcpState } from "../src/tcp/state"
import { parseIpv4 } from "../src/wire/ipv4"
import { allocationCount } from "../src/util/bytes"

function stack(mac: number, ip: string) {
    const cfg = makeConfig({ mac: [2, 0, 0, 0, 0, mac], ip, netmask: "255.255.255.0", gateway: "10.9.0.254", tcpSecretSeed: mac })
    const iface = new Interface(cfg)
    const tcp = new TcpLayer(iface, cfg)
    return { iface, tcp }
}

/** Moves every queued frame to the other interface; returns how many moved. */
function cable(a: Interface, b: Interface, now: number): number {
    let n = 0
    for (;;) {
        const f = a.nextTxFrame()
        if (f === null) break
        b.input(f.buf, f.len, now)
        a.txDone(f)
        n++
    }
    return n
}

describe("TCP over the real Interface", () => {
    test("ARP, handshake, 200 KB echo through the interface's three transmit frames", () => {
        const A = stack(1, "10.9.0.1")
        const B = stack(2, "10.9.0.2")
        let now = 1000
        const lid = A.tcp.listen(7, 2, false)
        const cid = B.tcp.connect(A.iface.ip, 7, now)
        expect(cid).toBeGreaterThanOrEqual(0)
        const total = 200_000
        const src = Buffer.alloc(total)
        for (let i = 0; i < total; i++) src[i] = (i * 7 + (i >> 8)) & 0xff
        const back = createHash("sha256")
        const buf = Buffer.alloc(2048)
        let sid = -1
        let sent = 0
        let echoed = 0
        let got = 0
        let closed = false
        let eof = false
        let allocStart = -1
        for (let step = 0; step < 200000 && !eof; step++) {
            if (sid < 0) sid = A.tcp.accept(lid)
            if (sid >= 0 && allocStart < 0) allocStart = allocationCount()
            while (sent < total) {
                const n = B.tcp.send(cid, src, sent, Math.min(1500, total - sent), now)
                if (n <= 0) break
                sent += n
            }
            if (sent === total && !closed) {
                B.tcp.shutdown(cid, now)
                closed = true
            }
            if (sid >= 0) {
                // Echo whatever A can read and write back.
                const room = A.tcp.sendSpace(sid)
                if (room > 0) {
                    const n = A.tcp.recv(sid, buf, 0, Math.min(room, buf.length), now)
                    if (n > 0) echoed += A.tcp.send(sid, buf, 0, n, now)
                    if (n === RECV_EOF) A.tcp.shutdown(sid, now)
                }
            }
            for (;;) {
                const n = B.tcp.recv(cid, buf, 0, buf.length, now)
                if (n === RECV_EOF) eof = true
                if (n <= 0) break
                back.update(buf.subarray(0, n))
                got += n
            }
            const moved = cable(A.iface, B.iface, now) + cable(B.iface, A.iface, now)
            if (moved === 0) {
                const t = Math.min(A.tcp.pollAt(), B.tcp.pollAt())
                now = Math.max(now + 1, Math.min(t, now + 50))
            }
            A.iface.poll(now)
            B.iface.poll(now)
            A.tcp.poll(now)
            B.tcp.poll(now)
        }
        expect(echoed).toBe(total)
        expect(got).toBe(total)
        expect(back.digest("hex")).toBe(createHash("sha256").update(src).digest("hex"))
        expect(allocationCount()).toBe(allocStart)
        expect(A.tcp.counters.rxDropChecksum + B.tcp.counters.rxDropChecksum).toBe(0)
        expect(A.iface.counters.ipDelivered).toBeGreaterThan(100)
    })
})

describe("addresses (RFC 1122 §4.2.3.10)", () => {
    test("connect() refuses broadcast, multicast, loopback, 0 and our own address; nothing is sent", () => {
        const A = stack(1, "10.9.0.1")
        for (const dst of ["255.255.255.255", "10.9.0.255", "224.0.0.1", "239.1.2.3", "240.0.0.1", "0.0.0.0", "127.0.0.1"]) {
            expect(A.tcp.connect(parseIpv4(dst), 80, 0)).toBe(-EINVAL)
        }
        expect(A.tcp.connect(A.iface.ip, 80, 0)).toBe(-EADDRNOTAVAIL)
        expect(A.iface.txQueueLength()).toBe(0)
        expect(A.iface.arp.count()).toBe(0)
        expect(A.tcp.conns.every((c) => !c.inUse)).toBe(true)
        expect(A.tcp.connect(parseIpv4("10.9.0.7"), 80, 0)).toBeGreaterThanOrEqual(0) // a neighbour is fine
    })
    test("a new address aborts the connections bound to the old one (ECONNABORTED)", () => {
        const A = stack(1, "10.9.0.1")
        const B = stack(2, "10.9.0.2")
        const events: number[] = []
        B.tcp.onEvent = (h, ev) => events.push(ev)
        let now = 1000
        A.tcp.listen(7, 2, false)
        const cid = B.tcp.connect(A.iface.ip, 7, now)
        for (let i = 0; i < 10; i++) {
            cable(A.iface, B.iface, now)
            cable(B.iface, A.iface, now)
            now += 10
        }
        expect(B.tcp.state(cid)).toBe(TcpState.Established)
        // Renewing the same address keeps it.
        B.iface.setAddress(B.iface.ip, B.iface.netmask, B.iface.gateway)
        expect(B.tcp.error(cid)).toBe(0)
        // The lease is lost: the connection can never be reached again.
        B.iface.setAddress(0, 0, 0)
        expect(B.tcp.error(cid)).toBe(ECONNABORTED)
        expect(events.some((ev) => (ev & TCP_EV_ERROR) !== 0)).toBe(true)
        expect(B.iface.txQueueLength()).toBe(0) // no RST from an address we no longer own
        expect(B.tcp.pollAt()).toBeGreaterThan(1e14) // no timers left behind
        // A connection made under the new address survives the next change to that same address.
        B.iface.setAddress(parseIpv4("10.9.0.3"), parseIpv4("255.255.255.0"), 0)
        const c2 = B.tcp.connect(A.iface.ip, 7, now)
        B.iface.setAddress(parseIpv4("10.9.0.3"), parseIpv4("255.255.255.0"), 0)
        expect(B.tcp.error(c2)).toBe(0)
        B.iface.setAddress(parseIpv4("10.9.0.4"), parseIpv4("255.255.255.0"), 0)
        expect(B.tcp.error(c2)).toBe(ECONNABORTED)
    })
})
