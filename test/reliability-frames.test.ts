// Reliability, continued: virtual time (an hour of TCP timers in about a second), no stale
// bytes in any frame a device sends, and a capture of a faulty run that tshark reads
// without a malformed packet.
import { afterEach, describe, expect, test } from "vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describeNeeds } from "./helpers/skip"
import { tsharkExpert } from "./helpers/interop"
import { Lab, createLab, firstStaleByte, labPattern, sha256, transferBothWays } from "./helpers/lab"

let lab: Lab = null
let dir: string = null
afterEach(async () => {
    if (lab) await lab.stop()
    lab = null
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = null
})

describe("virtual time", () => {
    test("an idle keepalive connection lives through an hour of timers in seconds, then a cut cable ends it with ETIMEDOUT", async () => {
        lab = createLab()
        const a = lab.addDevice()
        const b = lab.addDevice()
        const link = lab.link(a.jack, b.jack, { rateBps: 10e6, delayMs: 1, seed: 3 })
        await a.start()
        await b.start()
        const listener = a.stack.sockets.listen(6000, 1)
        const accepted = listener.accept()
        const c = await b.stack.sockets.connect(a.config.ip, 6000, 5000)
        const s = await accepted
        c.setKeepalive(true, 60000, 10000, 3)
        let ipFrames = 0
        link.observe((f) => {
            if (f.readUInt16BE(12) === 0x0800) ipFrames++
        })
        const wall0 = Date.now()
        const frames0 = link.totals().offered
        await lab.sleep(3600 * 1000)
        const wallMs = Date.now() - wall0
        console.log(`one virtual hour: ${wallMs} ms wall, ${lab.sched.advances} clock jumps, ${link.totals().offered - frames0} frames`)
        expect(wallMs).toBeLessThan(5000)
        expect(c.state()).toBe("ESTABLISHED")
        expect(s.state()).toBe("ESTABLISHED")
        // One probe and its answer per idle minute (plus an ARP refresh now and then).
        expect(ipFrames).toBeGreaterThanOrEqual(2 * 59)
        expect(ipFrames).toBeLessThanOrEqual(2 * 61)
        // Now the peer disappears: at the next probe (at most 60 s idle away), 3 unanswered
        // probes 10 s apart, then the connection is dropped.
        link.cut()
        const t0 = lab.nowMs()
        const buf = Buffer.alloc(16)
        let err = ""
        try {
            await c.read(buf, 0, buf.length)
        } catch (e) {
            err = (e as Error).message
        }
        expect(err).toMatch(/ETIMEDOUT/)
        const took = lab.nowMs() - t0
        expect(took).toBeGreaterThanOrEqual(30000 - 1000)
        expect(took).toBeLessThanOrEqual(60000 + 30000 + 1000)
    }, 30000)
})

describe("no leaks into frames", () => {
    test("the checker finds stale bytes after the IP payload, and only there", () => {
        const f = Buffer.alloc(60)
        f.writeUInt16BE(0x0800, 12)
        f[14] = 0x45
        f.writeUInt16BE(40, 16) // 14 + 40 = 54: bytes 54..59 are padding
        f.fill(0x77, 14 + 20, 54)
        expect(firstStaleByte(f)).toBe(-1)
        f[57] = 1
        expect(firstStaleByte(f)).toBe(57)
        const arp = Buffer.alloc(60)
        arp.writeUInt16BE(0x0806, 12)
        arp.fill(0x11, 14, 42)
        expect(firstStaleByte(arp)).toBe(-1)
        arp[59] = 0xee
        expect(firstStaleByte(arp)).toBe(59)
    })

    test("every frame either device sends in a faulty run with frames of all sizes has zero padding", async () => {
        lab = createLab()
        const a = lab.addDevice()
        const b = lab.addDevice()
        lab.link(a.jack, b.jack, { loss: 0.05, dup: 0.05, reorder: 0.05, corruptPayload: 0.02, rateBps: 10e6, delayMs: 0.5, seed: 12 })
        await a.start()
        await b.start()
        // Big segments first (fill the transmit buffers with data), then small ones (ACKs,
        // 1-byte writes, FINs) that would show any of it after their end.
        const r = await transferBothWays(lab, a, b, labPattern(200 * 1024, 1), labPattern(3, 2), 600000)
        expect(r.hung).toBeNull()
        const s = a.stack.sockets.listen(6001, 1)
        const acc = s.accept()
        const c = await b.stack.sockets.connect(a.config.ip, 6001, 5000)
        const peer = await acc
        for (let i = 0; i < 50; i++) await c.write(Buffer.from([i]), 0, 1)
        await c.close()
        const got = Buffer.alloc(100)
        let n = 0
        for (;;) {
            const k = await peer.read(got, n, got.length - n)
            if (k === 0) break
            n += k
        }
        expect(n).toBe(50)
        await peer.close()
        for (const d of [a, b]) {
            expect(d.leaks.framesChecked).toBeGreaterThan(100)
            expect(d.leaks.leaks, d.leaks.firstLeak).toBe(0)
        }
    }, 60000)
})

describeNeeds("a capture of a faulty run", { tools: ["tshark"] }, () => {
    test("opens in tshark, and `tshark -z expert` shows no malformed packet", async () => {
        dir = mkdtempSync(join(tmpdir(), "enc-reliability-"))
        const path = join(dir, "faulty.pcap")
        lab = createLab()
        const a = lab.addDevice({ pcap: path })
        const b = lab.addDevice()
        // Loss, duplication, reordering, delay and jitter. No corruption: the capture sits at
        // the jack and records arriving frames before the chip checks them, and a flipped
        // length bit legitimately makes a received frame malformed.
        const link = lab.link(a.jack, b.jack, { loss: 0.05, dup: 0.05, reorder: 0.05, rateBps: 10e6, delayMs: 0.5, jitterMs: 0.5, seed: 13 })
        await a.start()
        await b.start()
        const x = labPattern(256 * 1024, 3)
        const y = labPattern(256 * 1024, 4)
        const r = await transferBothWays(lab, a, b, x, y, 600000)
        expect(r.hung).toBeNull()
        expect(sha256(r.atClient.received)).toBe(sha256(x))
        expect(sha256(r.atServer.received)).toBe(sha256(y))
        expect(link.totals().lost).toBeGreaterThan(0)
        a.pcap.close()
        expect(a.pcap.frames).toBeGreaterThan(500)
        const expert = await tsharkExpert(path, [5000])
        expect(expert.malformed, expert.text).toBe(0)
        // The faults show up as what they are: retransmissions, duplicate ACKs, out-of-order segments.
        expect(expert.text).toMatch(/retransmission|Duplicate ACK|out-of-order/i)
    }, 60000)
})
