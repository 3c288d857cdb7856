// `npm run sim` fault flags (sim/fault-flags.ts): parsing, errors that name the flag, and
// the wrapped peer really dropping frames.
import { describe, expect, test } from "vitest"
import { parseArgs } from "node:util"
import { FAULT_FLAG_OPTIONS, describeFaults, faultOptionsFromFlags, parseProbability, parseRate, withFaults } from "../sim/fault-flags"
import { FaultyPort } from "../sim/wire/faults"
import { FrameHandler, FramePort } from "../sim/wire/frame-port"

function flags(...args: string[]) {
    return faultOptionsFromFlags(parseArgs({ args, options: FAULT_FLAG_OPTIONS, strict: true }).values)
}

describe("fault flags", () => {
    test("no fault flag: no faults", () => {
        expect(flags()).toBeNull()
    })

    test("every flag lands in its option; percentages and fractions both work", () => {
        const o = flags("--loss", "5%", "--dup", "0.01", "--reorder", "2%", "--delay", "3", "--jitter", "1.5", "--rate", "10M", "--corrupt", "1%", "--corrupt-wire", "0.5%", "--seed", "42")
        expect(o).toEqual({
            loss: 0.05, dup: 0.01, reorder: 0.02, delayMs: 3, jitterMs: 1.5, rateBps: 10e6, corruptPayload: 0.01, corruptWire: 0.005, seed: 42, bothWays: true,
        })
        expect(describeFaults(o)).toBe("faults: loss 5%, dup 1%, reorder 2%, delay 3 ms, jitter 1.5 ms, rate 10000000 bit/s, corrupt 1%, corrupt-wire 0.5% (seed 42)")
    })

    test("bad values are refused with the flag's name", () => {
        expect(() => flags("--loss", "150%")).toThrow(/--loss/)
        expect(() => flags("--loss", "abc")).toThrow(/--loss/)
        expect(() => flags("--dup", "-0.1")).toThrow(/--dup/)
        expect(() => flags("--delay", "-1")).toThrow(/--delay/)
        expect(() => flags("--rate", "fast")).toThrow(/--rate/)
        expect(() => flags("--loss", "1%", "--seed", "1.5")).toThrow(/--seed/)
        expect(() => flags("--seed", "3")).toThrow(/--seed/)
        expect(parseProbability("x", "100%")).toBe(1)
        expect(parseRate("100k")).toBe(100000)
    })

    test("withFaults leaves the peer alone without faults, and wraps it (both ways) with them", async () => {
        const sent: Buffer[] = []
        let handler: FrameHandler = null
        const peer: FramePort = { send: (f) => void sent.push(f), onFrame: (h) => void (handler = h), close: async () => {} }
        expect(withFaults(peer, null)).toBe(peer)
        const w = withFaults(peer, flags("--loss", "100%"))
        expect(w).toBeInstanceOf(FaultyPort)
        const out: Buffer[] = []
        w.onFrame((f) => out.push(f))
        w.send(Buffer.alloc(60))
        handler(Buffer.alloc(60))
        await new Promise((r) => setTimeout(r, 5))
        expect(sent.length).toBe(0)
        expect(out.length).toBe(0)
        expect((w as FaultyPort).toInner.stats.lost + (w as FaultyPort).fromInner.stats.lost).toBe(2)
        await w.close()
    })
})
