// The pump between a NetDevice and the interface.
import { describe, expect, test } from "vitest"
import { NetPump } from "../src/iface/pump"
import { TcpLayer } from "../src/tcp/tcp-layer"
import { NetDevice } from "../src/driver/net-device"
import { allocationCount } from "../src/util/bytes"
import { PEER, US, ZERO_MAC, arpFrame, decodeEthernet, makeIface, pingFrame, teachArp, ip, testConfig } from "./helpers/frames"

class FakeDevice implements NetDevice {
    rx: Buffer[] = []
    tx: Buffer[] = []
    receives = 0
    transmitResult: boolean | "throw" = true
    rxBufs = new Set<Buffer>()
    async init() {}
    async receive(buf: Buffer): Promise<number> {
        this.receives++
        this.rxBufs.add(buf)
        const f = this.rx.shift()
        if (!f) return 0
        f.copy(buf)
        return f.length
    }
    async transmit(buf: Buffer, len: number): Promise<boolean> {
        if (this.transmitResult === "throw") throw new Error("SPI failed")
        this.tx.push(Buffer.from(buf.subarray(0, len)))
        return this.transmitResult
    }
    async linkUp() {
        return true
    }
}

function fakeClock() {
    const c = {
        now: 1000,
        delays: [] as number[],
        nowMs: () => c.now,
        delayMs: async (ms: number) => {
            c.delays.push(ms)
            c.now += ms
        },
    }
    return c
}

const arpReq = () => arpFrame({ op: 1, senderMac: PEER.mac, senderIp: PEER.ip, targetMac: ZERO_MAC, targetIp: US.ip })

describe("NetPump", () => {
    test("a step receives, answers and transmits; an idle step reports no work", async () => {
        const dev = new FakeDevice()
        const iface = makeIface()
        const clock = fakeClock()
        const pump = new NetPump(dev, iface, clock)
        dev.rx.push(arpReq(), pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip }))
        expect(await pump.step()).toBe(true)
        expect(dev.tx.map((f) => decodeEthernet(f).type)).toEqual([0x0806, 0x0800])
        expect(iface.counters.txFramesOut).toBe(2)
        expect(iface.pool.free()).toBe(iface.pool.frames.length)
        expect(await pump.step()).toBe(false)
    })
    test("at most a few frames per step, so replies are sent while a burst arrives", async () => {
        const dev = new FakeDevice()
        const iface = makeIface()
        const pump = new NetPump(dev, iface, fakeClock())
        for (let i = 0; i < 10; i++) dev.rx.push(arpReq())
        await pump.step()
        expect(iface.counters.rxFrames).toBeGreaterThan(0)
        expect(iface.counters.rxFrames).toBeLessThan(10)
        expect(dev.tx.length).toBe(iface.counters.rxFrames)
        while (await pump.step());
        expect(dev.tx.length).toBe(10)
    })
    test("the clock drives ARP retries through poll", async () => {
        const dev = new FakeDevice()
        const iface = makeIface()
        const clock = fakeClock()
        const pump = new NetPump(dev, iface, clock)
        const f = iface.allocIpv4Frame()!
        iface.sendIpv4(f, PEER.ip, 17, 0, clock.now)
        await pump.step()
        expect(dev.tx.length).toBe(1)
        clock.now += 999
        await pump.step()
        expect(dev.tx.length).toBe(1)
        clock.now += 1
        await pump.step()
        expect(dev.tx.length).toBe(2)
    })
    test("a refused frame is counted and still returned to the pool", async () => {
        const dev = new FakeDevice()
        dev.transmitResult = false
        const iface = makeIface()
        const pump = new NetPump(dev, iface, fakeClock())
        teachArp(iface, PEER)
        dev.rx.push(pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip }))
        await pump.step()
        expect(iface.counters.txDeviceErrors).toBe(1)
        expect(iface.pool.free()).toBe(iface.pool.frames.length)
    })
    test("run() sleeps idleMs when idle, yields 0 when busy, survives device errors, stops on stop()", async () => {
        const dev = new FakeDevice()
        const iface = makeIface()
        const clock = fakeClock()
        const pump = new NetPump(dev, iface, clock)
        pump.idleMs = 7
        teachArp(iface, PEER)
        dev.rx.push(pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: US.ip }))
        dev.transmitResult = "throw"
        let n = 0
        const orig = clock.delayMs
        clock.delayMs = async (ms: number) => {
            await orig(ms)
            if (++n === 5) pump.stop()
        }
        await pump.loop()
        expect(n).toBe(5)
        expect(pump.deviceErrors).toBe(1)
        expect(clock.delays[0]).toBe(7) // the throwing step counts as no work
        expect(clock.delays.slice(1)).toEqual([7, 7, 7, 7])
        expect(iface.pool.free()).toBe(iface.pool.frames.length) // the frame came back despite the throw
        // Busy steps yield with 0.
        const dev2 = new FakeDevice()
        const clock2 = fakeClock()
        const pump2 = new NetPump(dev2, makeIface(), clock2)
        for (let i = 0; i < 12; i++) dev2.rx.push(arpReq())
        let m = 0
        const orig2 = clock2.delayMs
        clock2.delayMs = async (ms: number) => {
            await orig2(ms)
            if (++m === 4) pump2.stop()
        }
        await pump2.loop()
        expect(clock2.delays).toEqual([0, 0, 0, 2])
    })
    test("TCP output waiting for frames held elsewhere does not make the pump spin", async () => {
        const dev = new FakeDevice()
        const iface = makeIface()
        const clock = fakeClock()
        const pump = new NetPump(dev, iface, clock)
        const tcp = new TcpLayer(iface, testConfig())
        pump.timers = tcp
        teachArp(iface, PEER)
        // Every data frame is taken (as frames parked for ARP would be): the SYN must wait.
        const held = [iface.allocIpv4Frame()!, iface.allocIpv4Frame()!, iface.allocIpv4Frame()!]
        expect(tcp.connect(PEER.ip, 80, clock.now)).toBeGreaterThanOrEqual(0)
        expect(tcp.counters.txNoFrame).toBe(1)
        let n = 0
        const orig = clock.delayMs
        clock.delayMs = async (ms: number) => {
            await orig(ms)
            if (++n === 5) pump.stop()
        }
        await pump.loop()
        // Idle sleeps, not zero-delay yields (that would busy-loop for as long as the frames are held).
        expect(clock.delays.every((ms) => ms > 0)).toBe(true)
        // The frames come back: the next steps send the SYN.
        for (const f of held) iface.releaseFrame(f)
        clock.now += 20
        await pump.step()
        expect(dev.tx.length).toBe(1)
        expect(decodeEthernet(dev.tx[0]).type).toBe(0x0800)
    })
    test("one RX buffer, allocated at construction (or supplied); nothing allocated while running", async () => {
        const dev = new FakeDevice()
        const iface = makeIface()
        const before = allocationCount()
        const pump = new NetPump(dev, iface, fakeClock())
        expect(allocationCount()).toBe(before + 1)
        expect(pump.rxBuf.length).toBeGreaterThanOrEqual(iface.mtu + 14)
        teachArp(iface, PEER)
        const mine = Buffer.alloc(1600)
        const pump2 = new NetPump(dev, iface, fakeClock(), mine)
        expect(pump2.rxBuf).toBe(mine)
        const start = allocationCount()
        for (let i = 0; i < 500; i++) {
            dev.rx.push(pingFrame({ ethDst: US.mac, ethSrc: PEER.mac, src: PEER.ip, dst: ip("10.0.2.15"), seq: i }))
            await pump.step()
        }
        expect(allocationCount()).toBe(start)
        expect(dev.tx.length).toBe(500)
        expect(dev.rxBufs.size).toBe(1)
    })
})
