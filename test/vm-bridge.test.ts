// The host end of the VM's SPI bridge (sim/vm-bridge.ts): the message stream from
// src/hw/bridge-spi-bus.ts applied to a chip in order, however TCP splits it.
import { expect, test } from "vitest"
import { connect } from "node:net"
import { BridgeChip, BridgeDecoder, BridgeStats, VmBridge } from "../sim/vm-bridge"

/** Records the bus as the chip sees it; MISO = MOSI + 1 while selected. */
class FakeChip implements BridgeChip {
    log: string[] = []
    selected = false
    select(): void {
        this.selected = true
        this.log.push("S")
    }
    deselect(): void {
        this.selected = false
        this.log.push("D")
    }
    transfer(buf: Uint8Array, off: number, len: number): void {
        this.log.push(`T${len}`)
        for (let i = off; i < off + len; i++) buf[i] = this.selected ? (buf[i] + 1) & 0xff : 0xff
    }
}

function stats(): BridgeStats {
    return { connections: 0, transfers: 0, bytes: 0, badOps: 0 }
}

/** SELECT, a 3-byte transfer, DESELECT+SELECT, a 300-byte transfer, padding: two messages. */
function stream(): Buffer {
    const big = Buffer.alloc(300, 7)
    return Buffer.concat([
        Buffer.from([1, 3, 0, 3, 10, 20, 30, 0, 0, 0]),
        Buffer.from([2, 1, 3, 0x01, 0x2c]),
        big,
        Buffer.from([0, 0, 0]),
    ])
}

test("ops are applied in order and each transfer is answered, at every split point", () => {
    const s = stream()
    for (let cut = 0; cut <= s.length; cut++) {
        const chip = new FakeChip()
        const answers: Buffer[] = []
        const d = new BridgeDecoder(chip, stats(), (m) => answers.push(m))
        expect(d.push(s.subarray(0, cut))).toBe(true)
        expect(d.push(s.subarray(cut))).toBe(true)
        expect(chip.log).toEqual(["S", "T3", "D", "S", "T300"])
        expect(answers.map((a) => a.length)).toEqual([3, 300])
        expect([...answers[0]]).toEqual([11, 21, 31])
        expect(answers[1].every((b) => b === 8)).toBe(true)
    }
})

test("an unknown op is refused and counted", () => {
    const chip = new FakeChip()
    const st = stats()
    const d = new BridgeDecoder(chip, st, () => {})
    expect(d.push(Buffer.from([1, 9, 3, 0, 1, 5]))).toBe(false)
    expect(st.badOps).toBe(1)
    expect(chip.log).toEqual(["S"])
})

test("over TCP: one client, answers in order", async () => {
    const chip = new FakeChip()
    const bridge = await VmBridge.listen(chip)
    try {
        const got = await new Promise<Buffer>((resolve, reject) => {
            const c = connect(bridge.port, "127.0.0.1", () => c.write(stream()))
            let acc = Buffer.alloc(0)
            c.on("data", (d: Buffer) => {
                acc = Buffer.concat([acc, d])
                if (acc.length >= 303) {
                    c.destroy()
                    resolve(acc)
                }
            })
            c.on("error", reject)
        })
        expect([...got.subarray(0, 3)]).toEqual([11, 21, 31])
        expect(bridge.stats).toMatchObject({ connections: 1, transfers: 2, bytes: 303, badOps: 0 })
    } finally {
        await bridge.close()
    }
})
