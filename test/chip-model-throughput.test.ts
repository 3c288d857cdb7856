// ChipSpiBus (the driver's SpiBus on the model): clock advance per byte, and megabytes
// through the receive and transmit paths byte-exact, fast, without rule violations.
import { describe, expect, test } from "vitest"
import { RealClock, VirtualClock } from "../sim/clock"
import { Enc28j60Chip } from "../sim/enc28j60/chip"
import { RawSpi } from "../sim/enc28j60/raw-spi"
import { rawInit } from "../sim/enc28j60/raw-procedures"
import { ChipSpiBus } from "../sim/enc28j60/spi-bus"
import * as R from "../sim/enc28j60/registers"

const MAC = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55]

/** A few async helpers in the shape a driver uses the bus: one command per CS low. */
class BusOps {
    private b = Buffer.alloc(4)
    constructor(readonly bus: ChipSpiBus) {}
    async cmd(bytes: number[]): Promise<Buffer> {
        const buf = Buffer.from(bytes)
        this.bus.select()
        await this.bus.transfer(buf, 0, buf.length)
        this.bus.deselect()
        return buf
    }
    async rcr(addr: number): Promise<number> {
        return (await this.cmd([addr, 0]))[1]
    }
    async wcr(addr: number, v: number): Promise<void> {
        await this.cmd([0x40 | addr, v])
    }
    async bfs(addr: number, v: number): Promise<void> {
        await this.cmd([0x80 | addr, v])
    }
    async bfc(addr: number, v: number): Promise<void> {
        await this.cmd([0xa0 | addr, v])
    }
    async bank(n: number): Promise<void> {
        await this.bfc(R.ECON1, 3)
        if (n) await this.bfs(R.ECON1, n)
    }
    /** RBM into buf[off..off+len) in one transfer after the opcode. */
    async rbm(buf: Buffer, off: number, len: number): Promise<void> {
        this.b[0] = 0x3a
        this.bus.select()
        await this.bus.transfer(this.b, 0, 1)
        await this.bus.transfer(buf, off, len)
        this.bus.deselect()
    }
    async wbm(buf: Buffer, off: number, len: number): Promise<void> {
        this.b[0] = 0x7a
        this.bus.select()
        await this.bus.transfer(this.b, 0, 1)
        await this.bus.transfer(buf, off, len)
        this.bus.deselect()
    }
}

function frame(len: number, seed: number): Buffer {
    const f = Buffer.alloc(len)
    Buffer.from(MAC).copy(f, 0)
    Buffer.from([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]).copy(f, 6)
    f.writeUInt16BE(0x0800, 12)
    for (let i = 14; i < len; i++) f[i] = (i * 7 + seed * 13) & 0xff
    return f
}

describe("ChipSpiBus", () => {
    test("advances a VirtualClock by 8 bits / sckHz per byte", async () => {
        const clock = new VirtualClock()
        const chip = new Enc28j60Chip({ clock, sckHz: 8e6 })
        const bus = new ChipSpiBus(chip)
        const buf = Buffer.alloc(100)
        bus.select()
        await bus.transfer(buf, 0, 100)
        bus.deselect()
        expect(clock.nowUs()).toBeCloseTo(100, 6)
        expect(bus.bytes).toBe(100)
    })

    test("works with a RealClock (time is not advanced by the bus)", async () => {
        const clock = new RealClock()
        const chip = new Enc28j60Chip({ clock })
        const ops = new BusOps(new ChipSpiBus(chip))
        const t0 = clock.nowUs()
        while (!((await ops.rcr(R.ESTAT)) & R.ESTAT_CLKRDY)) await new Promise((r) => setTimeout(r, 1))
        expect(clock.nowUs() - t0).toBeGreaterThanOrEqual(290)
    })

    test("4 MB received and 4 MB sent byte-exact through the bus, quickly and cleanly", async () => {
        const clock = new VirtualClock()
        const chip = new Enc28j60Chip({ clock })
        const ring = rawInit(new RawSpi(chip), { mac: MAC })
        const ops = new BusOps(new ChipSpiBus(chip))
        let sentBytes = 0
        let sentSum = 0
        chip.onWireTransmit = (f) => {
            sentBytes += f.length
            for (let i = 0; i < f.length; i += 97) sentSum = (sentSum + f[i] * (i + 1)) >>> 0
        }
        const frames = [frame(1514, 1), frame(1514, 2), frame(600, 3), frame(60, 4)]
        const buf = Buffer.alloc(1600)
        const started = performance.now()
        let rxBytes = 0
        let next = ring.next
        for (let n = 0; rxBytes < 4 << 20; n++) {
            const f = frames[n % frames.length]
            expect(chip.deliverFromWire(f)).toBe(true)
            await ops.bank(1)
            expect(await ops.rcr(R.EPKTCNT & 0x1f)).toBe(1)
            await ops.bank(0)
            await ops.wcr(R.ERDPTL, next & 0xff)
            await ops.wcr(R.ERDPTH, next >> 8)
            await ops.rbm(buf, 0, 6)
            next = buf[0] | (buf[1] << 8)
            const count = buf[2] | (buf[3] << 8)
            await ops.rbm(buf, 0, count - 4)
            if (!buf.subarray(0, count - 4).equals(f)) throw new Error(`frame ${n} differs`)
            const rd = next === 0 ? ring.rxEnd : next - 1
            await ops.wcr(R.ERXRDPTL, rd & 0xff)
            await ops.wcr(R.ERXRDPTH, rd >> 8)
            await ops.bfs(R.ECON2, R.ECON2_PKTDEC)
            rxBytes += f.length
        }
        let txBytes = 0
        let wantSum = 0
        const ctl = Buffer.alloc(1)
        for (let n = 0; txBytes < 4 << 20; n++) {
            const f = frames[n % frames.length]
            for (let i = 0; i < f.length; i += 97) wantSum = (wantSum + f[i] * (i + 1)) >>> 0
            await ops.bfs(R.ECON1, R.ECON1_TXRST)
            await ops.bfc(R.ECON1, R.ECON1_TXRST)
            await ops.bfc(R.EIR, R.EIR_TXIF | R.EIR_TXERIF)
            await ops.wcr(R.EWRPTL, ring.txStart & 0xff)
            await ops.wcr(R.EWRPTH, ring.txStart >> 8)
            ops.bus.select()
            ctl[0] = 0x7a
            await ops.bus.transfer(ctl, 0, 1)
            ctl[0] = 0
            await ops.bus.transfer(ctl, 0, 1)
            await ops.bus.transfer(Buffer.from(f), 0, f.length)
            ops.bus.deselect()
            const end = ring.txStart + f.length
            await ops.wcr(R.ETXNDL, end & 0xff)
            await ops.wcr(R.ETXNDH, end >> 8)
            await ops.bfs(R.ECON1, R.ECON1_TXRTS)
            let polls = 0
            while ((await ops.rcr(R.ECON1)) & R.ECON1_TXRTS) {
                if (++polls > 10000) throw new Error("TXRTS stuck")
                clock.advanceUs(50) // the driver sleeps between polls
            }
            txBytes += f.length
        }
        const ms = performance.now() - started
        expect(chip.violations).toEqual([])
        expect(chip.stats.rxAccepted).toBeGreaterThan(3000)
        expect(sentBytes).toBe(txBytes)
        expect(sentSum).toBe(wantSum)
        // Virtual time: at 20 MHz SPI and 10 Mbit/s wire, 8 MB takes a few seconds of chip time.
        expect(clock.nowUs()).toBeGreaterThan(3e6)
        expect(ms).toBeLessThan(8000)
    })
})
