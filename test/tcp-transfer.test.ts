// Two TcpLayers move data through a simulated wire, with and without loss.
import { describe, expect, test } from "vitest"
import { createHash } from "node:crypto"
import { allocationCount } from "../src/util/bytes"
import { RECV_EOF } from "../src/tcp/errors"
import { TcpState } from "../src/tcp/state"
import { Peer, rng, Wire, WireOptions } from "./helpers/tcp-fixtures"

const A_IP = 0x0a000001
const B_IP = 0x0a000002

interface Result {
    sentHash: string
    gotHash: string
    got: number
    ms: number
    wire: Wire
    allocDuring: number
    serverState: number
}

/** B connects to A:80 and sends `total` bytes; A reads them; both close. */
function transfer(total: number, wo: WireOptions, over?: any, chunk = 1000, issBeforeWrap = 0): Result {
    const a = new Peer(A_IP, over)
    const b = new Peer(B_IP, over)
    const w = new Wire(a, b, wo)
    const lid = a.layer.listen(80, 4, false)
    if (issBeforeWrap > 0) {
        // ISN = 4 µs clock + keyed hash of the 4-tuple (RFC 6528): find the hash with a probe
        // connection, then start at the time that puts the client's ISN just below 2^32.
        const probe = b.layer.connect(A_IP, 80, w.now, 40000)
        const iss0 = b.layer.conns[probe & 0xff].iss
        b.layer.abort(probe, w.now)
        b.ip.raw = []
        w.now += Math.ceil((((0x100000000 - issBeforeWrap - iss0) >>> 0) + 0.5) / 250)
    }
    const cid = b.layer.connect(A_IP, 80, w.now, issBeforeWrap > 0 ? 40000 : undefined)
    if (issBeforeWrap > 0) {
        const iss = b.layer.conns[cid & 0xff].iss
        expect((0x100000000 - iss)).toBeLessThan(issBeforeWrap)
        expect((0x100000000 - iss)).toBeGreaterThan(issBeforeWrap - 1000)
    }
    expect(cid).toBeGreaterThanOrEqual(0)
    const src = Buffer.alloc(total)
    const r = rng(99)
    for (let i = 0; i < total; i++) src[i] = (r() * 256) | 0
    const readBuf = Buffer.alloc(1500)
    const sentHash = createHash("sha256").update(src).digest("hex")
    const got = createHash("sha256")
    let gotN = 0
    let sid = -1
    let sent = 0
    let closedB = false
    let eof = false
    const allocBefore = allocationCount()
    const start = w.now
    for (let i = 0; i < 5_000_000 && !eof; i++) {
        if (sid < 0) sid = a.layer.accept(lid)
        while (sent < total) {
            const n = b.layer.send(cid, src, sent, Math.min(chunk, total - sent), w.now)
            if (n <= 0) break
            sent += n
        }
        if (sent === total && !closedB) {
            b.layer.close(cid, w.now)
            closedB = true
        }
        if (sid >= 0) {
            for (;;) {
                const n = a.layer.recv(sid, readBuf, 0, readBuf.length, w.now)
                if (n === RECV_EOF) {
                    eof = true
                    break
                }
                if (n <= 0) break
                got.update(readBuf.subarray(0, n))
                gotN += n
            }
        }
        if (!eof && !w.step(w.now + 600_000)) break
    }
    const allocDuring = allocationCount() - allocBefore
    const ms = w.now - start
    const serverState = a.layer.state(sid)
    a.layer.close(sid, w.now)
    // Let the FIN exchange and TIME-WAIT play out.
    for (let i = 0; i < 10000 && w.step(w.now + 200_000); i++);
    return { sentHash, gotHash: got.digest("hex"), got: gotN, ms, wire: w, allocDuring, serverState }
}

describe("two TcpLayers on a fake wire", () => {
    test("64 KiB without loss", () => {
        const res = transfer(65536, { delayMs: 1 })
        expect(res.got).toBe(65536)
        expect(res.gotHash).toBe(res.sentHash)
        expect(res.serverState).toBe(TcpState.CloseWait)
        // No loss: nothing is retransmitted, and a 2 ms RTT moves 64 KiB in well under a second.
        expect(res.wire.b.layer.counters.retransmits).toBe(0)
        expect(res.ms).toBeLessThan(1000)
    })

    test("the sender's sequence numbers wrap around 2^32 mid-transfer", () => {
        const res = transfer(200000, { delayMs: 2, loss: 0.02, seed: 5 }, undefined, 1000, 50000)
        expect(res.got).toBe(200000)
        expect(res.gotHash).toBe(res.sentHash)
    })

    test("1 MiB byte-exact with 3% seeded loss and reordering, no allocation during the transfer", () => {
        const total = 1 << 20
        const res = transfer(total, { delayMs: 2, jitterMs: 3, loss: 0.03, seed: 7 })
        expect(res.wire.dropped).toBeGreaterThan(20)
        expect(res.got).toBe(total)
        expect(res.gotHash).toBe(res.sentHash)
        expect(res.allocDuring).toBe(0)
    })

    test("with room for many segments in flight, losses are repaired by fast retransmit", () => {
        const total = 1 << 20
        const res = transfer(total, { delayMs: 5, loss: 0.01, seed: 11 }, { tcpSendBuffer: 16384, tcpRecvBuffer: 16384 })
        expect(res.gotHash).toBe(res.sentHash)
        const k = res.wire.b.layer.counters
        console.log("16K rings, 1% loss:", res.ms, "ms simulated;", k.fastRetransmits, "fast retransmits,", k.timeouts, "timeouts")
        expect(k.fastRetransmits).toBeGreaterThan(0)
        expect(k.fastRetransmits).toBeGreaterThan(k.timeouts)
    })

    test("1 MiB with 10% loss still completes", () => {
        const total = 1 << 20
        const res = transfer(total, { delayMs: 1, jitterMs: 1, loss: 0.1, seed: 3 })
        expect(res.got).toBe(total)
        expect(res.gotHash).toBe(res.sentHash)
    })
})

describe("both directions at once under loss, duplication and reordering", () => {
    test.each([1, 2, 3, 4, 5, 6])("seed %i: both streams arrive intact and both sides close", (seed) => {
        const r = rng(seed)
        const a = new Peer(A_IP, { tcpSendBuffer: 1024 + Math.floor(r() * 4096), tcpRecvBuffer: 1024 + Math.floor(r() * 4096) })
        const b = new Peer(B_IP, { tcpSendBuffer: 1024 + Math.floor(r() * 4096), tcpRecvBuffer: 1024 + Math.floor(r() * 4096) })
        const w = new Wire(a, b, { delayMs: 1 + r() * 20, jitterMs: r() * 20, loss: r() * 0.15, dup: r() * 0.1, seed })
        const lid = a.layer.listen(80, 2, false)
        const cb = b.layer.connect(A_IP, 80, w.now)
        const n = 30000 + Math.floor(r() * 30000)
        const data = [Buffer.alloc(n), Buffer.alloc(n + 17)]
        for (const d of data) for (let i = 0; i < d.length; i++) d[i] = (r() * 256) | 0
        const got = [createHash("sha256"), createHash("sha256")]
        const sent = [0, 0]
        const eof = [false, false]
        const shut = [false, false]
        const tmp = Buffer.alloc(700)
        let ca = -1
        for (let i = 0; i < 200000 && !(eof[0] && eof[1]); i++) {
            if (ca < 0) ca = a.layer.accept(lid)
            const ids = [ca, cb]
            const layers = [a.layer, b.layer]
            for (let s = 0; s < 2; s++) {
                if (ids[s] < 0) continue
                const L = layers[s]
                const d = data[s]
                if (sent[s] < d.length) {
                    const k = L.send(ids[s], d, sent[s], Math.min(1 + Math.floor(r() * 900), d.length - sent[s]), w.now)
                    if (k > 0) sent[s] += k
                } else if (!shut[s]) {
                    L.shutdown(ids[s], w.now)
                    shut[s] = true
                }
                for (;;) {
                    const k = L.recv(ids[s], tmp, 0, tmp.length, w.now)
                    if (k === RECV_EOF) eof[1 - s] = true
                    if (k <= 0) break
                    got[1 - s].update(tmp.subarray(0, k))
                }
            }
            if (!w.step(w.now + 600000)) break
        }
        expect(eof).toEqual([true, true])
        expect(got[0].digest("hex")).toBe(createHash("sha256").update(data[0]).digest("hex"))
        expect(got[1].digest("hex")).toBe(createHash("sha256").update(data[1]).digest("hex"))
        a.layer.close(ca, w.now)
        b.layer.close(cb, w.now)
        for (let i = 0; i < 10000 && w.step(w.now + 200000); i++);
        expect(a.layer.conns.some((c) => c.inUse)).toBe(false)
        expect(b.layer.conns.some((c) => c.inUse)).toBe(false)
    })
})
