// NetStack: composition, the pump driving TCP timers and sleeping until they are due,
// wake-ups instead of busy polling, the memory budget, and zero allocation after start-up.
import { afterEach, describe, expect, test } from "vitest"
import { createHash } from "node:crypto"
import { NetStack } from "../src/stack"
import { NetDevice } from "../src/driver/net-device"
import { Enc28j60 } from "../src/driver/enc28j60/enc28j60"
import { Kicker } from "../src/socket/context"
import { MemoryLink } from "../src/socket/memory-link"
import { TcpSocket } from "../src/socket/socket"
import { allocBytes, allocationCount } from "../src/util/bytes"
import { PollSet } from "../src/socket/poll"
import { Enc28j60Chip } from "../sim/enc28j60/chip"
import { ChipSpiBus } from "../sim/enc28j60/spi-bus"
import { ChipPort } from "../sim/wire/chip-port"
import { FrameHandler, FramePort } from "../sim/wire/frame-port"
import { PointToPointLink } from "../sim/wire/link"
import { VirtualScheduler } from "../sim/scheduler"
import { A_IP, Pair, pairConfig, pattern, sleep, startPair } from "./helpers/stack-pair"

let pair: Pair = null
afterEach(() => {
    pair?.stop()
    pair = null
})

async function connected(p: Pair): Promise<{ s: TcpSocket; c: TcpSocket }> {
    const l = p.a.sockets.listeners.find((x) => x.isOpen() && x.port === 80) ?? p.a.sockets.listen(80, 4)
    const acc = l.accept()
    const c = await p.b.sockets.connect(A_IP, 80)
    return { s: await acc, c }
}

/** Sends `total` bytes c → s through the blocking socket calls; returns the received hash. */
async function transfer(c: TcpSocket, s: TcpSocket, data: Buffer, chunk: number, rbuf: Buffer): Promise<{ hash: string; got: number }> {
    const h = createHash("sha256")
    let got = 0
    const writer = (async () => {
        for (let off = 0; off < data.length; off += chunk) await c.write(data, off, Math.min(chunk, data.length - off))
        c.shutdown()
    })()
    for (;;) {
        const n = await s.read(rbuf, 0, rbuf.length)
        if (n === 0) break
        h.update(rbuf.subarray(0, n))
        got += n
    }
    await writer
    return { hash: h.digest("hex"), got }
}

/** Counts Buffer.alloc/allocUnsafe/from calls made from code under src/ until restore(). */
function spyBufferAllocations(): { count(): number; restore(): void } {
    const B = Buffer as any
    const orig = { alloc: B.alloc, allocUnsafe: B.allocUnsafe, from: B.from }
    let n = 0
    const wrap = (fn: any) =>
        function (this: any, ...args: any[]) {
            // Frames below this wrapper: is the caller in src/?
            const callers = new Error().stack.split("\n").slice(2, 4).join("\n")
            if (/\/src\//.test(callers)) n++
            return fn.apply(this, args)
        }
    B.alloc = wrap(orig.alloc)
    B.allocUnsafe = wrap(orig.allocUnsafe)
    B.from = wrap(orig.from)
    return {
        count: () => n,
        restore() {
            B.alloc = orig.alloc
            B.allocUnsafe = orig.allocUnsafe
            B.from = orig.from
        },
    }
}

describe("memory budget", () => {
    test("allocatedBytes counts every buffer: rings per connection slot, frames, the RX buffer", () => {
        const sched = new VirtualScheduler()
        const link = new MemoryLink(1)
        const make = (over: any) => new NetStack(pairConfig(A_IP, 1, over), sched, link.a).allocatedBytes
        const base = make({ tcpConnections: 4, tcpSendBuffer: 2048, tcpRecvBuffer: 2048, txFrames: 3, mtu: 1500 })
        // The documented formula: C × (S + R) + txFrames × (mtu + 14) + (mtu + 18) + ~100 B of addresses.
        const formula = 4 * 4096 + 3 * 1514 + 1518
        expect(base).toBeGreaterThanOrEqual(formula)
        expect(base - formula).toBeLessThan(200)
        // Each term scales as documented.
        expect(make({ tcpConnections: 8, tcpSendBuffer: 2048, tcpRecvBuffer: 2048, txFrames: 3, mtu: 1500 }) - base).toBe(4 * 4096)
        expect(make({ tcpConnections: 4, tcpSendBuffer: 4096, tcpRecvBuffer: 2048, txFrames: 3, mtu: 1500 }) - base).toBe(4 * 2048)
        expect(make({ tcpConnections: 4, tcpSendBuffer: 2048, tcpRecvBuffer: 2048, txFrames: 5, mtu: 1500 }) - base).toBe(2 * 1514)
        sched.halt()
    })
})

describe("fixed memory", () => {
    test("a 1 MiB transfer through the socket API allocates nothing after start-up", async () => {
        const p = (pair = await startPair({ tcpSendBuffer: 8192, tcpRecvBuffer: 8192 }))
        const { s, c } = await connected(p)
        const data = pattern(1 << 20, 11)
        const rbuf = Buffer.alloc(1000)
        const want = createHash("sha256").update(data).digest("hex")
        const spy = spyBufferAllocations()
        const before = allocationCount()
        let res: { hash: string; got: number }
        try {
            res = await transfer(c, s, data, 1460, rbuf)
        } finally {
            spy.restore()
        }
        expect(res.got).toBe(1 << 20)
        expect(res.hash).toBe(want)
        expect(allocationCount() - before).toBe(0)
        expect(spy.count()).toBe(0)
    })

    test("the counters would notice an allocation from src/ (guard for the test above)", () => {
        const before = allocationCount()
        const spy = spyBufferAllocations()
        try {
            allocBytes(4)
            new PollSet(2) // no buffers: not counted
            Buffer.alloc(8) // from the test itself: not counted
        } finally {
            spy.restore()
        }
        expect(allocationCount() - before).toBe(1)
        expect(spy.count()).toBe(1)
    })
})

describe("the pump", () => {
    test("runs TCP timers: lost segments are retransmitted and a transfer completes byte-exact", async () => {
        const p = (pair = await startPair())
        const { s, c } = await connected(p)
        p.link.b.lossEvery = 7
        const data = pattern(100000, 12)
        const res = await transfer(c, s, data, 1000, Buffer.alloc(1500))
        expect(res.got).toBe(100000)
        expect(res.hash).toBe(createHash("sha256").update(data).digest("hex"))
        expect(p.b.tcp.counters.retransmits + p.b.tcp.counters.fastRetransmits).toBeGreaterThan(0)
        expect(p.link.b.dropped).toBeGreaterThan(10)
    })

    test("sleeps until the next TCP deadline, not until the device poll interval", async () => {
        // Device polled only every 60 s: a delayed ACK must still leave after ~tcpDelayedAckMs.
        const p = (pair = await startPair({ tcpDelayedAckMs: 100 }, { idlePollMs: 60000 }))
        const { s, c } = await connected(p)
        await sleep(p, 1000)
        const t0 = p.sched.nowMs()
        c.writeNow(Buffer.from("x"), 0, 1)
        const b = Buffer.alloc(4)
        expect(await s.read(b, 0, 4)).toBe(1)
        expect(p.sched.nowMs() - t0).toBeLessThan(1) // sent at once (kick), received at once (rxNotify)
        while (c.bytesQueued() > 0) await sleep(p, 1)
        const acked = p.sched.nowMs() - t0
        expect(acked).toBeGreaterThanOrEqual(100)
        expect(acked).toBeLessThan(110)
    })

    test("without a frame notification the idle pump finds frames at its poll interval", async () => {
        const p = (pair = await startPair({}, { idlePollMs: 50 }))
        const { s, c } = await connected(p)
        p.link.a.notify = null // a's device cannot say a frame arrived (like the ENC28J60)
        await sleep(p, 1000)
        const t0 = p.sched.nowMs()
        c.writeNow(Buffer.from("x"), 0, 1)
        expect(await s.read(Buffer.alloc(4), 0, 4)).toBe(1)
        const ms = p.sched.nowMs() - t0
        expect(ms).toBeGreaterThan(0)
        expect(ms).toBeLessThanOrEqual(50)
    })

    test("no busy polling: idle stacks and blocked callers take a handful of steps", async () => {
        const p = (pair = await startPair({}, { idlePollMs: 1000 }))
        const { s } = await connected(p)
        const reading = s.read(Buffer.alloc(4), 0, 4)
        const steps0 = p.a.steps + p.b.steps
        await sleep(p, 60000)
        // One step per idle poll interval per stack, plus a few for timers.
        expect(p.a.steps + p.b.steps - steps0).toBeLessThan(2 * 60 + 10)
        expect(p.a.steps + p.b.steps - steps0).toBeGreaterThan(60)
        s.abort()
        await reading.catch(() => {})
    })
})

/** A NetDevice whose wire is a FramePort (to plug a stack into the chip model's jack). */
class PortDevice implements NetDevice, FramePort {
    private rx: Buffer[] = []
    private handler: FrameHandler = null
    notify: Kicker = null
    send(frame: Buffer): void {
        this.rx.push(Buffer.from(frame))
        this.notify?.kick()
    }
    onFrame(h: FrameHandler): void {
        this.handler = h
    }
    async close(): Promise<void> {}
    async init(): Promise<void> {}
    async linkUp(): Promise<boolean> {
        return true
    }
    async receive(buf: Buffer): Promise<number> {
        const f = this.rx.shift()
        if (!f) return 0
        f.copy(buf)
        return f.length
    }
    async transmit(buf: Buffer, len: number): Promise<boolean> {
        this.handler?.(Buffer.from(buf.subarray(0, len)))
        return true
    }
}

describe("on the ENC28J60 model", () => {
    test("a stack on the chip driver echoes 64 KiB to a peer stack, in virtual time", async () => {
        const sched = new VirtualScheduler()
        const chip = new Enc28j60Chip({ clock: sched.clock })
        const cfgA = pairConfig(A_IP, 1)
        const timing = { nowMs: () => sched.nowMs(), delayMs: (ms: number) => sched.sleep(ms) }
        const driver = new Enc28j60(new ChipSpiBus(chip), timing, { mac: cfgA.mac })
        const a = new NetStack(cfgA, sched, driver) // idle poll 2 ms: the chip has no interrupt
        const peer = new PortDevice()
        const b = new NetStack(pairConfig("10.0.0.2", 2), sched, peer, { idlePollMs: 1000 })
        peer.notify = b.rxNotify
        const wire = new PointToPointLink(new ChipPort(chip), peer)
        try {
            await a.start()
            await b.start()
            const l = a.sockets.listen(7, 2)
            const server = (async () => {
                const s = await l.accept()
                const buf = Buffer.alloc(1024)
                for (;;) {
                    const n = await s.read(buf, 0, buf.length)
                    if (n === 0) break
                    await s.write(buf, 0, n)
                }
                await s.close()
            })()
            const c = await b.sockets.connect(A_IP, 7)
            const data = pattern(65536, 13)
            const echoed = await transfer(c, c, data, 1000, Buffer.alloc(1500))
            await server
            expect(echoed.got).toBe(65536)
            expect(echoed.hash).toBe(createHash("sha256").update(data).digest("hex"))
            expect(driver.counters.rxFrames).toBeGreaterThan(40)
            expect(wire.carried[0]).toBeGreaterThan(40)
        } finally {
            a.stop()
            b.stop()
            sched.halt()
        }
    })
})

describe("link watch (the cable comes out and back)", () => {
    /** A stack on the chip model whose wire only records what the chip sends, with virtual times. */
    async function onChip(over: Parameters<typeof pairConfig>[2]) {
        const sched = new VirtualScheduler()
        const chip = new Enc28j60Chip({ clock: sched.clock })
        const cfg = pairConfig(A_IP, 1, over)
        const timing = { nowMs: () => sched.nowMs(), delayMs: (ms: number) => sched.sleep(ms) }
        const stack = new NetStack(cfg, sched, new Enc28j60(new ChipSpiBus(chip), timing, { mac: cfg.mac }))
        const sent: { t: number; f: Buffer }[] = []
        const recorder: FramePort = {
            send: (f: Buffer) => void sent.push({ t: sched.nowMs(), f: Buffer.from(f) }),
            onFrame: () => {},
            close: async () => {},
        }
        new PointToPointLink(new ChipPort(chip), recorder)
        await stack.start()
        const run = (ms: number) => sched.sleep(ms)
        const stop = () => {
            stack.stop()
            sched.halt()
        }
        return { chip, stack, sent, run, stop }
    }
    const isArpAnnouncement = (f: Buffer) => f.readUInt16BE(12) === 0x0806 && f.readUInt32BE(28) === f.readUInt32BE(38)
    const isDhcpDiscover = (f: Buffer) => f.readUInt16BE(12) === 0x0800 && f[23] === 17 && f.readUInt16BE(36) === 67 && f[42 + 240 + 2] === 1

    test("static address: announced again within a second of the link coming back", async () => {
        const r = await onChip({})
        try {
            await r.run(10000)
            r.chip.setLink(false)
            await r.run(5000)
            const back = 15000
            r.chip.setLink(true)
            await r.run(5000)
            const announcements = r.sent.filter((s) => isArpAnnouncement(s.f)).map((s) => s.t)
            // The one at start-up, then one after the link came back (and none while it was out).
            expect(announcements.filter((t) => t > 1000 && t < back)).toEqual([])
            const after = announcements.filter((t) => t >= back)
            expect(after.length).toBe(1)
            expect(after[0] - back).toBeLessThanOrEqual(1100)
        } finally {
            r.stop()
        }
    })

    test("a device whose linkUp() throws costs a device error, not the pump", async () => {
        const sched = new VirtualScheduler()
        let calls = 0
        class GlitchyDevice extends PortDevice {
            async linkUp(): Promise<boolean> {
                if (++calls === 3) throw new Error("bus glitch")
                return true
            }
        }
        const stack = new NetStack(pairConfig(A_IP, 1), sched, new GlitchyDevice(), { idlePollMs: 100 })
        try {
            await stack.start()
            await sched.sleep(10000)
            const steps = stack.steps
            await sched.sleep(10000)
            expect(calls).toBeGreaterThan(15) // about one a second, on past the throw
            expect(stack.pump.deviceErrors).toBe(1)
            expect(stack.steps).toBeGreaterThan(steps + 50)
        } finally {
            stack.stop()
            sched.halt()
        }
    })

    test("DHCP still searching: a DISCOVER within a second of the link coming back, not after the back-off", async () => {
        const r = await onChip({ dhcp: true })
        try {
            await r.run(30000) // DISCOVERs at about 0, 4, 12 and 28 s: the next is due after 60 s
            const before = r.sent.filter((s) => isDhcpDiscover(s.f)).length
            expect(before).toBe(4)
            r.chip.setLink(false)
            await r.run(2000)
            const back = 32000
            r.chip.setLink(true)
            await r.run(3000)
            const after = r.sent.filter((s) => isDhcpDiscover(s.f) && s.t >= back).map((s) => s.t)
            expect(after.length).toBe(1)
            expect(after[0] - back).toBeLessThanOrEqual(1100)
        } finally {
            r.stop()
        }
    })
})
