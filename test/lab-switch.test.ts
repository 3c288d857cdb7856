// The virtual Ethernet segment (sim/wire/switch.ts): learning, flooding, filtering; and
// three simulated boards on one switch talking TCP to each other at once, one of them
// behind a faulty port.
import { afterEach, describe, expect, test } from "vitest"
import { createPortPair } from "../sim/wire/memory-port"
import { EthernetSwitch } from "../sim/wire/switch"
import { FaultyPort } from "../sim/wire/faults"
import { FrameHandler, FramePort } from "../sim/wire/frame-port"
import { Lab, createLab, labPattern, sha256, transferBothWays } from "./helpers/lab"

class Probe implements FramePort {
    got: Buffer[] = []
    handler: FrameHandler = null
    closed = false
    send(frame: Buffer): void {
        this.got.push(frame)
    }
    onFrame(handler: FrameHandler): void {
        this.handler = handler
    }
    async close(): Promise<void> {
        this.closed = true
    }
    /** Injects a frame into the switch from this port's side. */
    emit(frame: Buffer): void {
        this.handler(frame)
    }
}

function eth(dst: string, src: string, tag: number): Buffer {
    const f = Buffer.alloc(60)
    Buffer.from(dst, "hex").copy(f, 0)
    Buffer.from(src, "hex").copy(f, 6)
    f.writeUInt16BE(0x88b5, 12) // local experimental EtherType
    f[14] = tag
    return f
}

const A = "020000000001"
const B = "020000000002"
const C = "020000000003"
const BCAST = "ffffffffffff"

describe("EthernetSwitch", () => {
    test("floods unknown and broadcast destinations, learns sources, then forwards unicast to one port only", () => {
        const p = [new Probe(), new Probe(), new Probe()]
        const sw = new EthernetSwitch(p)
        p[0].emit(eth(B, A, 1)) // B unknown: flooded to 1 and 2, A learned on 0
        expect(p.map((x) => x.got.length)).toEqual([0, 1, 1])
        expect(sw.portOf("02:00:00:00:00:01")).toBe(0)
        p[1].emit(eth(A, B, 2)) // A known: only port 0
        expect(p.map((x) => x.got.length)).toEqual([1, 1, 1])
        p[0].emit(eth(B, A, 3)) // B now known: only port 1
        expect(p.map((x) => x.got.length)).toEqual([1, 2, 1])
        p[2].emit(eth(BCAST, C, 4)) // broadcast: everyone but the sender
        expect(p.map((x) => x.got.length)).toEqual([2, 3, 1])
        expect(sw.stats).toMatchObject({ received: 4, forwarded: 2, flooded: 2 })
        // Each flooded copy is its own buffer.
        expect(p[0].got[1]).not.toBe(p[1].got[2])
    })

    test("never sends a frame back out of its ingress port; a group source is never learned; runts are dropped", () => {
        const p = [new Probe(), new Probe()]
        const sw = new EthernetSwitch(p)
        p[0].emit(eth(B, A, 1))
        p[0].emit(eth(A, B, 2)) // B claims port 0 now; A lives on port 0: filtered
        expect(sw.portOf(B)).toBe(0)
        expect(p[0].got.length).toBe(0)
        expect(sw.stats.filtered).toBe(1)
        p[1].emit(eth(A, "030000000009", 3)) // multicast source: forwarded, not learned
        expect(sw.portOf("030000000009")).toBe(-1)
        p[1].emit(Buffer.alloc(10))
        expect(sw.stats.runts).toBe(1)
    })

    test("a station that moves is relearned; the table is bounded and entries age out", () => {
        let now = 0
        const p = [new Probe(), new Probe(), new Probe()]
        const sw = new EthernetSwitch(p, { macTableSize: 2, ageingMs: 1000, nowMs: () => now })
        p[0].emit(eth(BCAST, A, 1))
        p[1].emit(eth(BCAST, A, 2))
        expect(sw.portOf(A)).toBe(1)
        now = 10
        p[1].emit(eth(BCAST, B, 3))
        now = 20
        p[2].emit(eth(BCAST, C, 4)) // full: A (oldest) goes
        expect(sw.tableLength()).toBe(2)
        expect(sw.portOf(A)).toBe(-1)
        now = 5000
        expect(sw.portOf(C)).toBe(-1) // aged out
        p[0].emit(eth(C, A, 5)) // aged entry: flooded again
        expect(p[1].got.length + p[2].got.length).toBeGreaterThanOrEqual(2)
    })

    test("close() closes every port; memory ports work as switch ports", async () => {
        const [x, y] = createPortPair()
        const p = new Probe()
        const sw = new EthernetSwitch([x, p])
        const got: Buffer[] = []
        y.onFrame((f) => got.push(f))
        p.emit(eth(BCAST, A, 1))
        await new Promise((r) => queueMicrotask(() => r(null)))
        expect(got.length).toBe(1)
        await sw.close()
        expect(p.closed).toBe(true)
    })
})

describe("three simulated boards on one switch", () => {
    let lab: Lab = null
    afterEach(async () => {
        if (lab) await lab.stop()
        lab = null
    })

    test("two TCP transfers at once (one peer behind 5% loss + reordering) arrive byte-exact; unicast stays off the third port", async () => {
        lab = createLab()
        const server = lab.addDevice({ config: { tcpConnections: 4 } })
        const c1 = lab.addDevice()
        const c2 = lab.addDevice()
        const faulty = new FaultyPort(c2.jack, { loss: 0.05, reorder: 0.05, delayMs: 1, seed: 4, bothWays: true, timer: lab.timer })
        const sw = new EthernetSwitch([server.jack, c1.jack, faulty], { nowMs: () => lab.nowMs() })
        for (const d of lab.devices) await d.start()
        const n = 256 * 1024
        const d1 = [labPattern(n, 1), labPattern(n, 2)]
        const d2 = [labPattern(n, 3), labPattern(n, 4)]
        const [r1, r2] = await Promise.all([
            transferBothWays(lab, server, c1, d1[0], d1[1], 600000, 5001),
            transferBothWays(lab, server, c2, d2[0], d2[1], 600000, 5002),
        ])
        for (const [r, d] of [[r1, d1], [r2, d2]] as const) {
            expect(r.hung).toBeNull()
            expect(r.atServer.error + r.atClient.error).toBe("")
            expect(sha256(r.atClient.received)).toBe(sha256(d[0]))
            expect(sha256(r.atServer.received)).toBe(sha256(d[1]))
        }
        expect(faulty.toInner.stats.lost + faulty.fromInner.stats.lost).toBeGreaterThan(0)
        // Learned: each board's MAC on its own port.
        for (const d of lab.devices) expect(sw.portOf(Buffer.from(d.config.mac).toString("hex"))).toBe(d.index)
        // c1 saw only its own transfer plus floods: far fewer frames than the server.
        const frames1 = c1.chipPort.delivered + c1.chipPort.dropped
        const framesServer = server.chipPort.delivered + server.chipPort.dropped
        expect(frames1).toBeLessThan(framesServer * 0.7)
        expect(c1.chip.stats.rxFiltered).toBeLessThan(20) // floods only, not c2's stream
        for (const d of lab.devices) expect(d.leaks.leaks, d.leaks.firstLeak).toBe(0)
    }, 60000)
})
