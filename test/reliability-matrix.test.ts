// Reliability: nothing is lost. Two simulated boards (chip model + driver + NetStack) on
// virtual time, joined by a FaultyLink at 10BASE-T wire timing, exchange data both ways at
// once under each fault; what arrives must be byte-exact (sha256), every run must end
// within a bounded virtual time, and the faults must really have happened (counters).
//
// `npm test` runs one seed per cell, 1 MiB each way (the whole matrix takes a few seconds
// of wall time: virtual time skips every idle wait); `npm run soak` (SOAK=1) runs 4 MiB
// each way in every cell for 16 seeds.
import { afterEach, describe, expect, test } from "vitest"
import { FaultOptions, FaultyLink } from "../sim/wire/faults"
import { Lab, LabDevice, createLab, labPattern, sha256, transferBothWays } from "./helpers/lab"

const SOAK = process.env.SOAK === "1"
const KiB = 1024
const MiB = 1024 * KiB
const SEEDS = SOAK ? Array.from({ length: 16 }, (_, i) => i + 1) : [1]
const BYTES = SOAK ? 4 * MiB : MiB

/** Every cell runs on a realistic wire: 10 Mbit/s, 0.5 ms + up to 0.5 ms one way. */
const WIRE: FaultOptions = { rateBps: 10e6, delayMs: 0.5, jitterMs: 0.5 }

interface Cell {
    name: string
    faults: FaultOptions
    /** Which fault counter must be non-zero (the fault really happened). */
    happened: (t: ReturnType<FaultyLink["totals"]>) => number
}

const ALL: FaultOptions = { loss: 0.05, dup: 0.05, reorder: 0.05, corruptPayload: 0.01, corruptWire: 0.01 }

const CELLS: Cell[] = [
    { name: "loss 1%", faults: { loss: 0.01 }, happened: (t) => t.lost },
    { name: "loss 5%", faults: { loss: 0.05 }, happened: (t) => t.lost },
    { name: "loss 20%", faults: { loss: 0.2 }, happened: (t) => t.lost },
    { name: "duplication 5%", faults: { dup: 0.05 }, happened: (t) => t.duplicated },
    { name: "reordering 5%", faults: { reorder: 0.05 }, happened: (t) => t.reordered },
    { name: "corruption 1% above the FCS", faults: { corruptPayload: 0.01 }, happened: (t) => t.corruptedPayload },
    { name: "corruption 1% on the wire (bad FCS)", faults: { corruptWire: 0.01 }, happened: (t) => t.corruptedWire },
    { name: "all at once", faults: ALL, happened: (t) => Math.min(t.lost, t.duplicated, t.reordered, t.corruptedPayload, t.corruptedWire) },
]

/** Virtual-time bound for a transfer: generous, but a hang cannot hide in it. */
function boundMs(bytes: number, faults: FaultOptions): number {
    const perKiB = (faults.loss ?? 0) >= 0.2 ? 4000 : 500
    return 120000 + (bytes / KiB) * perKiB
}

let lab: Lab = null
afterEach(async () => {
    if (lab) await lab.stop()
    lab = null
})

async function pair(faults: FaultOptions): Promise<{ a: LabDevice; b: LabDevice; link: FaultyLink }> {
    lab = createLab()
    const a = lab.addDevice({ config: { tcpSendBuffer: 4096, tcpRecvBuffer: 4096 } })
    const b = lab.addDevice({ config: { tcpSendBuffer: 4096, tcpRecvBuffer: 4096 } })
    const link = lab.link(a.jack, b.jack, faults)
    await a.start()
    await b.start()
    return { a, b, link }
}

function expectChipsClean(...devs: LabDevice[]): void {
    for (const d of devs) {
        expect(d.chip.violations, `device ${d.index} broke a datasheet rule`).toEqual([])
        expect(d.leaks.leaks, `device ${d.index}: stale bytes after the payload: ${d.leaks.firstLeak}`).toBe(0)
        expect(d.leaks.framesChecked).toBeGreaterThan(0)
    }
}

describe("device ⇄ device through a faulty 10BASE-T link: byte-exact both ways", () => {
    for (const cell of CELLS) {
        for (const seed of SEEDS) {
            const bytes = BYTES
            test(`${cell.name}, seed ${seed}, ${bytes / KiB} KiB each way`, async () => {
                const faults = { ...WIRE, ...cell.faults, seed }
                const { a, b, link } = await pair(faults)
                const toClient = labPattern(bytes, 100 + seed)
                const toServer = labPattern(bytes, 200 + seed)
                const r = await transferBothWays(lab, a, b, toClient, toServer, boundMs(bytes, faults))
                const t = link.totals()
                const tcpA = a.stack.tcp.counters
                const tcpB = b.stack.tcp.counters
                console.log(
                    `${cell.name} seed ${seed}: ${(r.virtualMs / 1000).toFixed(1)} s virtual, ${r.wallMs} ms wall; ` +
                        `link ${JSON.stringify(t)}; retransmits ${tcpA.retransmits}+${tcpB.retransmits}, ` +
                        `timeouts ${tcpA.timeouts}+${tcpB.timeouts}; SPI bytes ${a.bus.bytes}+${b.bus.bytes}`,
                )
                expect(r.hung).toBeNull()
                expect(r.atServer.error).toBe("")
                expect(r.atClient.error).toBe("")
                expect(r.atServer.received.length).toBe(bytes)
                expect(r.atClient.received.length).toBe(bytes)
                expect(sha256(r.atServer.received)).toBe(sha256(toServer))
                expect(sha256(r.atClient.received)).toBe(sha256(toClient))
                expect(cell.happened(t), "the fault never happened").toBeGreaterThan(0)
                // Corruption above the FCS is caught by the IP or TCP checksum, never delivered.
                if (cell.faults.corruptPayload) {
                    const caught = a.stack.iface.counters.ipDropChecksum + b.stack.iface.counters.ipDropChecksum + tcpA.rxDropChecksum + tcpB.rxDropChecksum
                    expect(caught).toBeGreaterThan(0)
                }
                // Corruption on the wire is dropped by the chip's CRC check.
                if (cell.faults.corruptWire) expect(a.chip.stats.rxCrcErrors + b.chip.stats.rxCrcErrors).toBeGreaterThan(0)
                // Everything went through the chip models: at least the payload crossed each SPI bus.
                expect(a.bus.bytes).toBeGreaterThan(2 * bytes)
                expectChipsClean(a, b)
            }, SOAK ? 600000 : 60000)
        }
    }
})

describe("no transfer hangs", () => {
    test("a cable cut for longer than the retry limit fails both sides with ETIMEDOUT in bounded virtual time", async () => {
        const { a, b, link } = await pair({ ...WIRE, seed: 9 })
        const data = labPattern(512 * KiB, 5)
        // Cut the cable once the transfer is well under way.
        const cutter = (async () => {
            while (b.stack.tcp.counters.txSegments < 100) await lab.sleep(5)
            link.cut()
        })()
        const r = await transferBothWays(lab, a, b, data, data, 30 * 60000)
        await cutter
        expect(r.hung).toBeNull()
        expect(r.atServer.error).toBe("ETIMEDOUT")
        expect(r.atClient.error).toBe("ETIMEDOUT")
        // tcpMaxRetries (10) with backoff capped at tcpRtoMaxMs: a few minutes, not forever.
        expect(r.virtualMs).toBeLessThan(15 * 60000)
        expect(r.virtualMs).toBeGreaterThan(60000)
        expect(link.totals().cut).toBeGreaterThan(0)
    }, 60000)

    test("a cable cut for 20 s (shorter than the retry limit) only delays the transfer", async () => {
        const { a, b, link } = await pair({ ...WIRE, seed: 10 })
        const bytes = 256 * KiB
        const x = labPattern(bytes, 6)
        const y = labPattern(bytes, 7)
        const cutter = (async () => {
            while (b.stack.tcp.counters.txSegments < 50) await lab.sleep(5)
            link.cut(20000)
        })()
        const r = await transferBothWays(lab, a, b, x, y, 10 * 60000)
        await cutter
        expect(r.hung).toBeNull()
        expect(r.atServer.error + r.atClient.error).toBe("")
        expect(sha256(r.atServer.received)).toBe(sha256(y))
        expect(sha256(r.atClient.received)).toBe(sha256(x))
        expect(r.virtualMs).toBeGreaterThan(20000)
        expect(a.stack.tcp.counters.timeouts + b.stack.tcp.counters.timeouts).toBeGreaterThan(0)
    }, 60000)
})

describe("determinism", () => {
    test("the same seed gives the same run, to the microsecond; another seed does not", async () => {
        const run = async (seed: number) => {
            const { a, b, link } = await pair({ ...WIRE, ...ALL, seed })
            const x = labPattern(64 * KiB, 1)
            const r = await transferBothWays(lab, a, b, x, x, 10 * 60000)
            expect(r.hung).toBeNull()
            const out = { us: lab.clock.nowUs(), link: link.totals(), retransmits: a.stack.tcp.counters.retransmits + b.stack.tcp.counters.retransmits }
            await lab.stop()
            lab = null
            return out
        }
        const first = await run(21)
        const again = await run(21)
        const other = await run(22)
        expect(again).toEqual(first)
        expect(other).not.toEqual(first)
    }, 60000)
})
