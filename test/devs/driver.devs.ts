// Runs the ENC28J60 driver in the DeviceScript VM: it must compile there and behave
// against a tiny scripted chip (the register-level model is Node-only).
import * as ds from "@devicescript/core"
import { describe, test, expect } from "@devicescript/test"
import { Enc28j60, DriverTiming } from "../../src/driver/enc28j60/enc28j60"
import { SpiBus } from "../../src/driver/spi-bus"

const MAC = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55]

const timing: DriverTiming = {
    nowMs: () => ds.millis(),
    delayMs: async (ms: number) => {
        await ds.sleep(ms)
    },
}

/** A bus whose MISO line floats high: no chip. */
class FloatingBus implements SpiBus {
    transfers = 0
    select(): void {}
    deselect(): void {}
    async transfer(buf: Buffer, off: number, len: number): Promise<void> {
        this.transfers++
        for (let i = 0; i < len; i++) buf[off + i] = 0xff
        await ds.sleep(0)
    }
}

/**
 * Just enough chip to run the driver: banked registers, SPI opcodes, buffer memory
 * with ERDPT/EWRPT auto-increment, an MII that is never busy, and a transmit that
 * completes at once (the frame lands in `sent`).
 */
class ScriptedChip implements SpiBus {
    regs = Buffer.alloc(128)
    mem = Buffer.alloc(8192)
    phy: number[] = []
    sent = Buffer.alloc(0)
    private pos = 0
    private op = 0

    constructor() {
        for (let i = 0; i < 32; i++) this.phy.push(0)
        this.phy[0x11] = 0x0400 // PHSTAT2.LSTAT: link up
        this.regs[0x60 | 0x12] = 0x06 // EREVID B7
    }

    private index(addr: number): number {
        return addr >= 0x1b ? addr : ((this.regs[0x1f] & 3) << 5) | addr
    }
    private get16(addrL: number): number {
        return this.regs[addrL] | (this.regs[addrL + 1] << 8)
    }
    private set16(addrL: number, v: number): void {
        this.regs[addrL] = v & 0xff
        this.regs[addrL + 1] = (v >> 8) & 0xff
    }

    select(): void {
        this.pos = 0
    }
    deselect(): void {}
    async transfer(buf: Buffer, off: number, len: number): Promise<void> {
        for (let i = 0; i < len; i++) buf[off + i] = this.exchange(buf[off + i])
        await ds.sleep(0)
    }

    private exchange(mosi: number): number {
        const p = this.pos++
        if (p === 0) {
            this.op = mosi
            if (mosi === 0xff) {
                this.regs[0x1f] = 0
                this.regs[0x1e] = 0x80
            }
            return 0
        }
        const op = this.op
        if (op === 0x3a) {
            const rd = this.get16(0x00)
            const v = this.mem[rd]
            this.set16(0x00, rd === this.get16(0x0a) ? this.get16(0x08) : (rd + 1) & 0x1fff)
            return v
        }
        if (op === 0x7a) {
            const wr = this.get16(0x02)
            this.mem[wr] = mosi
            this.set16(0x02, (wr + 1) & 0x1fff)
            return 0
        }
        const i = this.index(op & 0x1f)
        const kind = op & 0xe0
        // RCR answers on every byte, so MAC/MII reads get it after the dummy byte too.
        if (kind === 0x00) return this.regs[i]
        if (p !== 1) return 0
        if (kind === 0x40) this.regs[i] = mosi
        else if (kind === 0x80) this.regs[i] = this.regs[i] | mosi
        else if (kind === 0xa0) this.regs[i] = this.regs[i] & ~mosi & 0xff
        this.afterWrite(i)
        return 0
    }

    private afterWrite(i: number): void {
        const r = this.regs
        if (i === 0x1e && (r[0x1e] & 0x40) !== 0) {
            r[0x1e] = r[0x1e] & 0xbf // PKTDEC reads back 0
            if (r[0x39] > 0) r[0x39]--
        }
        if (i === 0x52 && (r[0x52] & 1) !== 0) {
            const v = this.phy[r[0x54]] // MICMD.MIIRD: MIRD = PHY[MIREGADR]
            r[0x58] = v & 0xff
            r[0x59] = v >> 8
        }
        if (i === 0x57) this.phy[r[0x54]] = r[0x56] | (r[0x57] << 8) // MIWRH starts the write
        if (i === 0x1f && (r[0x1f] & 0x08) !== 0) {
            const st = this.get16(0x04)
            const nd = this.get16(0x06)
            this.sent = this.mem.slice(st + 1, nd + 1)
            r[0x1f] = r[0x1f] & 0xf7 // TXRTS clears, TXIF sets
            r[0x1c] |= 0x08
        }
    }

    /** Puts one packet (header + frame + 4 FCS bytes) at the ring start. */
    queuePacket(frame: Buffer): void {
        const count = frame.length + 4
        let next = 6 + count
        if (next & 1) next++
        const m = this.mem
        m[0] = next & 0xff
        m[1] = next >> 8
        m[2] = count & 0xff
        m[3] = count >> 8
        m[4] = 0x80 // RSV bit 23: received OK
        m[5] = 0
        m.set(frame, 6)
        this.regs[0x39] = 1 // EPKTCNT
    }

    reg(bank: number, addr: number): number {
        return this.regs[(bank << 5) | addr]
    }
    phyReg(addr: number): number {
        return this.phy[addr]
    }
}

describe("ENC28J60 driver in the VM", () => {
    test("init rejects with no chip when MISO floats high", async () => {
        const bus = new FloatingBus()
        const dev = new Enc28j60(bus, timing, { mac: MAC })
        let message = ""
        try {
            await dev.init()
        } catch (e) {
            message = (e as Error).message
        }
        expect(message.indexOf("no chip") >= 0).toBe(true)
        expect(bus.transfers > 0).toBe(true)
        // Not initialised: the entry points refuse quietly.
        const buf = Buffer.alloc(64)
        expect(await dev.receive(buf)).toBe(0)
        expect(await dev.transmit(buf, 60)).toBe(false)
    })

    test("init programs the scripted chip", async () => {
        const chip = new ScriptedChip()
        const dev = new Enc28j60(chip, timing, { mac: MAC })
        await dev.init()
        expect(dev.revision).toBe(6)
        expect(chip.reg(0, 0x0a) | (chip.reg(0, 0x0b) << 8)).toBe(0x140d) // ERXND: two TX areas above
        expect(chip.reg(0, 0x0c) | (chip.reg(0, 0x0d) << 8)).toBe(0x140d) // ERXRDPT
        expect(chip.reg(2, 0x02) & 1).toBe(0) // MACON3.FULDPX clear: half duplex by default
        expect(chip.phyReg(0x00)).toBe(0) // PHCON1.PDPXMD matches
        expect(chip.phyReg(0x10)).toBe(0x0100) // PHCON2.HDLDIS (errata 9)
        expect(chip.reg(3, 0x04)).toBe(0x02) // MAADR1 = first octet
        expect(chip.reg(3, 0x01)).toBe(0x55) // MAADR6 = last octet
        expect(chip.reg(0, 0x1f) & 0x04).toBe(0x04) // ECON1.RXEN
        expect(await dev.linkUp()).toBe(true)
        expect(dev.counters.spiTransactions > 20).toBe(true)
    })

    test("receives a scripted frame and transmits one", async () => {
        const chip = new ScriptedChip()
        const dev = new Enc28j60(chip, timing, { mac: MAC })
        await dev.init()
        const buf = Buffer.alloc(1514)
        expect(await dev.receive(buf)).toBe(0)

        const frame = Buffer.alloc(61)
        for (let i = 0; i < frame.length; i++) frame[i] = (i * 7 + 3) & 0xff
        chip.queuePacket(frame)
        expect(await dev.receive(buf)).toBe(61)
        let same = true
        for (let i = 0; i < 61; i++) if (buf[i] !== frame[i]) same = false
        expect(same).toBe(true)
        expect(dev.counters.rxFrames).toBe(1)
        // Freed with an odd ERXRDPT (errata 14): next pointer 72 - 1.
        expect(chip.reg(0, 0x0c)).toBe(71)
        expect(await dev.receive(buf)).toBe(0)

        expect(await dev.transmit(frame, 61)).toBe(true)
        expect(chip.reg(0, 0x04) | (chip.reg(0, 0x05) << 8)).toBe(0x140e) // ETXST: the first area
        expect(chip.sent.length).toBe(61)
        let intact = true
        for (let i = 0; i < 61; i++) if (chip.sent[i] !== ((i * 7 + 3) & 0xff)) intact = false
        expect(intact).toBe(true)
        // Written in place: the caller's bytes now hold what MISO clocked in (0 from this chip).
        expect(frame[5]).toBe(0)
        await dev.flushTx()
        expect(dev.counters.txFrames).toBe(1)
    })

    test("a chip reset is noticed within a second and the chip brought up again", async () => {
        const chip = new ScriptedChip()
        const dev = new Enc28j60(chip, timing, { mac: MAC })
        await dev.init()
        const buf = Buffer.alloc(1514)
        expect(await dev.receive(buf)).toBe(0)
        // Power-on values: everything 0 but ECON2.AUTOINC, MAMXFL 0x0600 and EREVID.
        for (let i = 0; i < chip.regs.length; i++) chip.regs[i] = 0
        chip.regs[0x1e] = 0x80
        chip.regs[0x4b] = 0x06
        chip.regs[0x60 | 0x12] = 0x06
        expect(await dev.receive(buf)).toBe(0)
        expect(dev.counters.chipResets).toBe(0) // not yet due
        await ds.sleep(1100)
        expect(await dev.receive(buf)).toBe(0)
        expect(dev.counters.chipResets).toBe(1)
        expect(chip.reg(2, 0x0a)).toBe(0xee) // MAMXFL 1518 again
        expect(chip.reg(3, 0x04)).toBe(0x02) // MAADR1
        expect(chip.reg(0, 0x1f) & 0x04).toBe(0x04) // ECON1.RXEN
        const frame = Buffer.alloc(61)
        frame[0] = 0x42
        chip.queuePacket(frame)
        expect(await dev.receive(buf)).toBe(61)
        expect(await dev.transmit(frame, 61)).toBe(true)
        expect(chip.sent.length).toBe(61)
        expect(dev.counters.busErrors).toBe(0)
    })

    test("transmit alternates between the two areas", async () => {
        const chip = new ScriptedChip()
        const dev = new Enc28j60(chip, timing, { mac: MAC })
        await dev.init()
        const frame = Buffer.alloc(100)
        for (let i = 0; i < 6; i++) {
            frame[99] = i
            expect(await dev.transmit(frame, 100)).toBe(true)
            const st = chip.reg(0, 0x04) | (chip.reg(0, 0x05) << 8)
            expect(st).toBe(i % 2 === 0 ? 0x140e : 0x1a0e)
            expect(chip.reg(0, 0x06) | (chip.reg(0, 0x07) << 8)).toBe(st + 100) // ETXND: last byte
            expect(chip.sent.length).toBe(100)
            expect(chip.sent[99]).toBe(i)
        }
        await dev.flushTx()
        expect(dev.counters.txFrames).toBe(6)
    })
})
