// `npm run sim` fault flags: --loss --dup --reorder --delay --jitter --rate --corrupt
// --corrupt-wire --seed. Parsed here so the CLI only spreads FAULT_FLAG_OPTIONS into its
// parseArgs options and wraps its peer with withFaults(). Faults apply both ways between
// the device and its peer (with --devices, on each device's link to the switch), on real time.
//
// Probabilities are fractions (0.05) or percentages ("5%"); times in ms; rate in bit/s
// with an optional k/M suffix ("10M").

import { FaultyPort, FaultyPortOptions, realWireTimer } from "./wire/faults"
import { FramePort } from "./wire/frame-port"

export const FAULT_FLAG_OPTIONS = {
    loss: { type: "string" },
    dup: { type: "string" },
    reorder: { type: "string" },
    delay: { type: "string" },
    jitter: { type: "string" },
    rate: { type: "string" },
    corrupt: { type: "string" },
    "corrupt-wire": { type: "string" },
    seed: { type: "string" },
} as const

export const FAULT_FLAGS_USAGE = `  faults between the device and its peer, both ways (seeded, reproducible):
  --loss P       drop frames with probability P (0.05 or 5%)
  --dup P        deliver frames twice    --reorder P   hold frames back behind up to 3 later ones
  --delay MS     one-way delay           --jitter MS   extra 0..MS delay (order kept)
  --rate BPS     line rate, e.g. 10M     --seed N      PRNG seed (default 1)
  --corrupt P    flip a bit in the IP datagram with a valid FCS (checksums must catch it)
  --corrupt-wire P  flip a bit on the wire (bad FCS: the receiving MAC drops it)`

type FlagValues = { [K in keyof typeof FAULT_FLAG_OPTIONS]?: string | boolean | (string | boolean)[] }

function one(name: string, v: unknown): string | undefined {
    if (v === undefined) return undefined
    if (typeof v !== "string") throw new Error(`--${name}: needs a value`)
    return v
}

export function parseProbability(name: string, text: string): number {
    const pct = text.endsWith("%")
    const n = Number(pct ? text.slice(0, -1) : text)
    const p = pct ? n / 100 : n
    if (text.trim() === "" || !Number.isFinite(p) || p < 0 || p > 1) throw new Error(`--${name}: not a probability (0..1 or 0%..100%): ${text}`)
    return p
}

function parseMs(name: string, text: string): number {
    const n = Number(text)
    if (text.trim() === "" || !Number.isFinite(n) || n < 0 || n > 60000) throw new Error(`--${name}: not a time in ms (0..60000): ${text}`)
    return n
}

export function parseRate(text: string): number {
    const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text.trim())
    const scale: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9 }
    const n = m ? Number(m[1]) * scale[m[2].toLowerCase()] : NaN
    if (!(n >= 1000)) throw new Error(`--rate: not a rate in bit/s of at least 1000 (e.g. 10M): ${text}`)
    return n
}

/** The faults the flags ask for, or null when none is given. Throws with the flag's name on bad values. */
export function faultOptionsFromFlags(values: FlagValues): FaultyPortOptions | null {
    const o: FaultyPortOptions = {}
    let any = false
    const prob = (flag: keyof typeof FAULT_FLAG_OPTIONS, key: "loss" | "dup" | "reorder" | "corruptPayload" | "corruptWire") => {
        const v = one(flag, values[flag])
        if (v === undefined) return
        o[key] = parseProbability(flag, v)
        any = true
    }
    prob("loss", "loss")
    prob("dup", "dup")
    prob("reorder", "reorder")
    prob("corrupt", "corruptPayload")
    prob("corrupt-wire", "corruptWire")
    const delay = one("delay", values.delay)
    if (delay !== undefined) (o.delayMs = parseMs("delay", delay)), (any = true)
    const jitter = one("jitter", values.jitter)
    if (jitter !== undefined) (o.jitterMs = parseMs("jitter", jitter)), (any = true)
    const rate = one("rate", values.rate)
    if (rate !== undefined) (o.rateBps = parseRate(rate)), (any = true)
    const seed = one("seed", values.seed)
    if (seed !== undefined) {
        const n = Number(seed)
        if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`--seed: not an integer 0..2^32-1: ${seed}`)
        o.seed = n
    }
    if (!any) {
        if (seed !== undefined) throw new Error("--seed: given without any fault flag")
        return null
    }
    o.bothWays = true
    return o
}

/** One line describing the faults, for the CLI's ready message. */
export function describeFaults(o: FaultyPortOptions): string {
    const parts: string[] = []
    const pct = (p: number) => `${+(p * 100).toFixed(3)}%`
    if (o.loss) parts.push(`loss ${pct(o.loss)}`)
    if (o.dup) parts.push(`dup ${pct(o.dup)}`)
    if (o.reorder) parts.push(`reorder ${pct(o.reorder)}`)
    if (o.delayMs) parts.push(`delay ${o.delayMs} ms`)
    if (o.jitterMs) parts.push(`jitter ${o.jitterMs} ms`)
    if (o.rateBps) parts.push(`rate ${o.rateBps} bit/s`)
    if (o.corruptPayload) parts.push(`corrupt ${pct(o.corruptPayload)}`)
    if (o.corruptWire) parts.push(`corrupt-wire ${pct(o.corruptWire)}`)
    return `faults: ${parts.join(", ")} (seed ${o.seed ?? 1})`
}

/**
 * Wraps the peer in a FaultyPort on real time when faults were asked for (else returns it).
 * Corrupted-on-the-wire frames are handed on with a bad FCS where `peer` can take one (a
 * device's ChipFcsPort: the chip's CRC check drops them) and dropped before it otherwise.
 * `link` numbers the links of one run (--devices): each gets its own random streams.
 */
export function withFaults(peer: FramePort, faults: FaultyPortOptions | null, link = 0): FramePort {
    if (!faults) return peer
    return new FaultyPort(peer, { ...faults, seed: ((faults.seed ?? 1) + link) >>> 0, timer: realWireTimer() })
}
