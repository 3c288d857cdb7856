// What a packet costs in the DeviceScript VM (issue #6): builds bench/devs/vm-cost.ts, runs
// it in the WASM VM bundled with the CLI twice — GC stress off, then on (what `devs run
// --test` does by default) — with the VM's clock reading the process's CPU time (both via
// bench/devs/vm-preload.cjs), and turns its raw "VMCOST" lines into per-segment costs, a
// breakdown and the checksum before/after. The ratio to the calibration loop is what
// carries to a device.

import { spawn } from "node:child_process"
import { rmSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { compileFirmware } from "../sim/vm-runner"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const CLI = fileURLToPath(new URL("../node_modules/@devicescript/cli/built/devicescript-cli.cjs", import.meta.url))
const PRELOAD = fileURLToPath(new URL("./devs/vm-preload.cjs", import.meta.url))
const PROGRAM = "bench/devs/vm-cost.ts"
/** One VM run takes ~45 s here; a hung one is killed. */
const RUN_TIMEOUT_MS = 300000

interface Batch {
    ms: number
    n: number
}
/** A count over a batch of n cycles (SPI commands, frames sent). */
interface Tally {
    total: number
    n: number
}
interface Replay {
    fakeMs: number
    nullMs: number
    reps: number
    logged: number
    seen: number
    n: number
}

/** What one VM run printed. */
export interface VmRaw {
    gcStress: boolean
    jobs: Map<string, Batch>
    bus: Map<string, Replay>
    spi: Map<string, Tally>
    frames: Map<string, Tally>
    checks: Map<string, number>
    done: boolean
    /** The preload's notes seen: GC stress really off, the VM's clock reads CPU time. */
    intercepted: boolean
    cpuClock: boolean
    error: string
    wallMs: number
    /** Every VMCOST line, for a look by hand ($VMCOST_RAW=file writes them out). */
    lines: string[]
}

async function runVm(image: string, gcStress: boolean): Promise<VmRaw> {
    const raw: VmRaw = {
        gcStress,
        jobs: new Map(),
        bus: new Map(),
        spi: new Map(),
        frames: new Map(),
        checks: new Map(),
        done: false,
        intercepted: false,
        cpuClock: false,
        error: "",
        wallMs: 0,
        lines: [],
    }
    const t0 = Date.now()
    const args = ["--require", PRELOAD, CLI, "run", image, "--test", "--test-self-exit", "-T", String(RUN_TIMEOUT_MS)]
    const env = { ...process.env, NO_COLOR: "1", VMCOST_CPU_CLOCK: "1", VMCOST_NO_GC_STRESS: gcStress ? "0" : "1" }
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env })
    const fatal: string[] = []
    const feed = (rawLine: string) => {
        // eslint-disable-next-line no-control-regex
        const line = rawLine.replace(/\x1b\[[0-9;]*m/g, "")
        if (line.includes("vm-preload: gc stress off")) raw.intercepted = true
        if (line.includes("vm-preload: cpu clock")) raw.cpuClock = true
        if (/PANIC|InfiniteLoop|OutOfMemory|Exception|test failed|VMCOST error/.test(line)) fatal.push(line.trim())
        const m = /VMCOST (\w+)(?: (\S+))?(?: (.*))?$/.exec(line)
        if (!m) return
        raw.lines.push(m[0])
        const [, kind, name, rest] = m
        const v = (rest ?? "").split(" ").map(Number)
        if (kind === "done") raw.done = true
        else if (kind === "job") raw.jobs.set(name, { ms: v[0], n: v[1] })
        else if (kind === "spi") raw.spi.set(name, { total: v[0], n: v[1] })
        else if (kind === "frames") raw.frames.set(name, { total: v[0], n: v[1] })
        else if (kind === "check") raw.checks.set(name, v[0])
        else if (kind === "bus") raw.bus.set(name, { fakeMs: v[0], nullMs: v[1], reps: v[2], logged: v[3], seen: v[4], n: v[5] })
    }
    createInterface({ input: child.stdout }).on("line", feed)
    createInterface({ input: child.stderr }).on("line", feed)
    const killer = setTimeout(() => {
        fatal.push(`killed after ${RUN_TIMEOUT_MS / 1000} s`)
        child.kill("SIGKILL")
    }, RUN_TIMEOUT_MS + 10000)
    await new Promise<void>((resolve) => child.once("close", () => resolve()))
    clearTimeout(killer)
    raw.wallMs = Date.now() - t0
    if (!raw.done) raw.error = fatal.slice(0, 3).join(" | ") || "the VM run ended before 'VMCOST done'"
    else if (!gcStress && !raw.intercepted) raw.error = "GC stress could not be turned off (the CLI's call was not intercepted)"
    else if (!raw.cpuClock) raw.error = "the VM's clock could not be pointed at CPU time (em_time_now not found)"
    return raw
}

/** A per-segment figure in µs, with the calibration ratio. */
export interface SegmentCost {
    /** Stack + driver, bus excluded. */
    us: number
    /** Stack alone (pump, interface, TCP, sockets on a bare device). */
    stackUs: number
    /** us − stackUs: the driver, bus excluded. */
    driverUs: number
    /** us in calibration-loop iterations. */
    calibIters: number
    /** SPI commands and frames the device sent per segment. */
    spiCommands: number
    framesSent: number
}

export interface SegmentRow {
    label: string
    off: SegmentCost
    /** Under GC stress; allocations ≈ extra time / one allocation's full collection. */
    onUs: number
    allocations: number
}

export interface PieceRow {
    piece: string
    /** µs per full-size segment received / sent; NaN where the piece is not on that path. */
    rxUs: number
    txUs: number
    note: string
}

export interface VmCostResult {
    error: string
    problems: string[]
    wallMs: number
    calibUsPerIter: number
    calibUsPerIterOn: number
    /** Cost of one small allocation: without GC stress, and with it (one full collection). */
    allocUs: number
    allocUsOn: number
    /** Loop + `await ds.sleep(0)` per cycle. */
    cycleUs: number
    segments: SegmentRow[]
    breakdown: PieceRow[]
    /** µs for 1460 bytes, in calibration iterations, and µs for a 20-byte header. */
    checksum: { label: string; us: number; calibIters: number; headerUs: number }[]
    driverCalls: { label: string; us: number; spiCommands: number }[]
}

class Figures {
    constructor(
        readonly raw: VmRaw,
        readonly busRaw: VmRaw,
    ) {}

    /** µs per cycle of a job. */
    cycle(name: string): number {
        const b = this.raw.jobs.get(name)
        if (!b) throw new Error(`vm-cost: no figure for ${name}`)
        return (b.ms * 1000) / b.n
    }

    /**
     * µs per cycle spent inside the fake chip's methods: its logged calls replayed against
     * the fake minus against a bus that does nothing. Taken from the run without GC stress
     * (the fake allocates nothing, so its cost is the same in both; under stress the replay
     * loop's own calls make the difference noise).
     */
    bus(name: string): number {
        const r = this.busRaw.bus.get(name)
        if (!r) throw new Error(`vm-cost: no bus figure for ${name}`)
        const perEntry = ((r.fakeMs - r.nullMs) * 1000) / r.reps / r.logged
        return Math.max(0, (perEntry * r.seen) / r.n)
    }

    perCycle(m: Map<string, Tally>, name: string): number {
        const t = m.get(name)
        return t ? t.total / t.n : NaN
    }

    segment(name: string): number {
        return this.cycle(name) - this.cycle(name + ".harness") - this.bus(name)
    }

    stack(name: string): number {
        return this.cycle(name + ".direct") - this.cycle(name + ".direct.harness")
    }

    calib(): number {
        return (this.cycle("calib") - this.cycle("empty")) / this.raw.checks.get("calib.iters")
    }

    /** One call of a breakdown job (PER_CYCLE calls a cycle). */
    call(name: string): number {
        return (this.cycle(name) - this.cycle("empty")) / this.raw.checks.get("per_cycle")
    }

    alloc(): number {
        return this.cycle("alloc") - this.cycle("empty")
    }
}

const SEGMENTS = [
    { name: "rx1460", label: "receive a full-size segment (1460 B payload, 1514 B frame), app reads it" },
    { name: "tx1460", label: "send a full-size segment (1460 B), and take in its ACK" },
    { name: "rx6", label: "receive a 60 B frame (6 B payload), app reads it" },
    { name: "tx6", label: "send a 60 B frame (6 B payload, TCP_NODELAY), and take in its ACK" },
]

/** Checks that must read 0 for the figures to mean what they say. */
const MUST_BE_ZERO = [
    "rx6.shortReads",
    "tx6.shortWrites",
    "tx.idleSteps",
    "chip.rxDropped",
    "tcp.rxDropChecksum",
    "tcp.retransmits",
    "driver.busErrors",
    "driver.sleepsAfterInit",
    "csum.mismatches",
]

function analyse(off: VmRaw, on: VmRaw): VmCostResult {
    const f = new Figures(off, off)
    const g = new Figures(on, off)
    const problems: string[] = []
    for (const [raw, mode] of [
        [off, "GC stress off"],
        [on, "GC stress on"],
    ] as const) {
        for (const k of MUST_BE_ZERO) {
            const v = raw.checks.get(k)
            if (v !== 0) problems.push(`${mode}: ${k} = ${v}`)
        }
    }
    const calib = f.calib()
    const allocUs = f.alloc()
    const allocUsOn = g.alloc()
    const segments: SegmentRow[] = SEGMENTS.map(({ name, label }) => {
        const us = f.segment(name)
        const stackUs = f.stack(name)
        const onUs = g.segment(name)
        return {
            label,
            off: {
                us,
                stackUs,
                driverUs: us - stackUs,
                calibIters: us / calib,
                spiCommands: f.perCycle(off.spi, name),
                framesSent: f.perCycle(off.frames, name),
            },
            onUs,
            allocations: (onUs - us) / (allocUsOn - allocUs),
        }
    })
    const rx = segments[0].off
    const tx = segments[1].off
    const csumTcp = f.call("csum.tcp.1480")
    const parse = f.call("parse.eth_ip")
    const ring = f.call("ring.inout")
    const drvPollCycle = f.cycle("drv.poll") - f.bus("drv.poll")
    const driverCalls = [
        { label: "receive one 1514 B frame (EIR, EPKTCNT, header + frame in one RBM, free)", us: f.cycle("drv.rx1514") - f.cycle("drv.rx1514.harness") - f.bus("drv.rx1514"), spi: "drv.rx1514" },
        { label: "an empty receive poll (EIR, EPKTCNT)", us: drvPollCycle - f.cycle("empty"), spi: "drv.poll" },
        { label: "transmit one 1514 B frame (WBM from the caller's buffer, pointers, TXRTS)", us: f.cycle("drv.tx1514") - f.bus("drv.tx1514") - drvPollCycle, spi: "drv.tx1514" },
    ].map((d) => {
        let spiCommands = f.perCycle(off.spi, d.spi)
        if (d.spi === "drv.tx1514") spiCommands -= f.perCycle(off.spi, "drv.poll")
        return { label: d.label, us: d.us, spiCommands }
    })
    const breakdown: PieceRow[] = [
        {
            piece: "driver (bus excluded)",
            rxUs: rx.driverUs,
            txUs: tx.driverUs,
            note: `${rx.spiCommands.toFixed(0)} / ${tx.spiCommands.toFixed(0)} SPI commands, ${rx.framesSent.toFixed(1)} / ${tx.framesSent.toFixed(1)} frames sent per segment`,
        },
        { piece: "TCP checksum over the segment (1480 B)", rxUs: csumTcp, txUs: csumTcp, note: "verify on receive, fill on send; src/util/checksum.ts" },
        { piece: "Ethernet + IPv4 parse (with the IPv4 header checksum)", rxUs: parse, txUs: NaN, note: "the 1514 B frame; the ACKs' parse is in the rest" },
        { piece: "ring copies: 1460 B into the ring and out (native blits)", rxUs: ring, txUs: ring, note: "RingBuffer enqueue + dequeue" },
        {
            piece: "rest of the stack: pump, TCP input/output, ACKs, IPv4/Ethernet emit, sockets",
            rxUs: rx.stackUs - csumTcp - parse - ring,
            txUs: tx.stackUs - csumTcp - ring,
            note: "stack alone minus the rows above",
        },
    ]
    const checksum = [
        { label: "byte loop (16-bit big-endian words, before word reads)", name: "csum.byte" },
        { label: "u32 word reads, 8 bytes a turn (before this change)", name: "csum.word8" },
        { label: "u32 word reads, 32 bytes a turn (src/util/checksum.ts now)", name: "csum.word" },
    ].map((c) => ({ label: c.label, us: f.call(c.name + ".1460"), calibIters: f.call(c.name + ".1460") / calib, headerUs: f.call(c.name + ".20") }))
    return {
        error: "",
        problems,
        wallMs: off.wallMs + on.wallMs,
        calibUsPerIter: calib,
        calibUsPerIterOn: g.calib(),
        allocUs,
        allocUsOn,
        cycleUs: f.cycle("empty"),
        segments,
        breakdown,
        checksum,
        driverCalls,
    }
}

function failed(error: string, wallMs: number): VmCostResult {
    return {
        error,
        problems: [],
        wallMs,
        calibUsPerIter: NaN,
        calibUsPerIterOn: NaN,
        allocUs: NaN,
        allocUsOn: NaN,
        cycleUs: NaN,
        segments: [],
        breakdown: [],
        checksum: [],
        driverCalls: [],
    }
}

/** Builds the VM program (under vm-runner's build lock), runs it without and with GC stress, analyses. */
export async function vmCost(): Promise<VmCostResult> {
    const t0 = Date.now()
    let image: string
    try {
        image = compileFirmware(PROGRAM)
    } catch (e) {
        return failed(String(e instanceof Error ? e.message : e).split("\n")[0], Date.now() - t0)
    }
    try {
        const off = await runVm(image, false)
        if (off.error) return failed(`GC stress off: ${off.error}`, Date.now() - t0)
        const on = await runVm(image, true)
        if (process.env.VMCOST_RAW) writeFileSync(process.env.VMCOST_RAW, ["# GC stress off", ...off.lines, "# GC stress on", ...on.lines].join("\n") + "\n")
        if (on.error) return failed(`GC stress on: ${on.error}`, Date.now() - t0)
        const r = analyse(off, on)
        r.wallMs = Date.now() - t0
        return r
    } catch (e) {
        return failed(String(e instanceof Error ? e.message : e), Date.now() - t0)
    } finally {
        rmSync(dirname(image), { recursive: true, force: true })
    }
}

const us1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "—")
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "—")
const share = (x: number, of: number) => (Number.isFinite(x) ? ((x / of) * 100).toFixed(0) + " %" : "—")
const mdRow = (cells: (string | number)[]) => "| " + cells.join(" | ") + " |"

/** The BENCHMARKS.md section for a result (markdown lines, without the heading). */
export function vmCostMarkdown(r: VmCostResult): string[] {
    const L: string[] = []
    if (r.error) {
        L.push(`Not measured this run: ${r.error}`)
        return L
    }
    const c = r.calibUsPerIter
    L.push("The real bytecode in the DeviceScript VM (the WASM build bundled with `@devicescript/cli`, `devs run --test`),")
    L.push("built from bench/devs/vm-cost.ts: the ENC28J60 driver and a NetStack (one connection slot, 4 KB rings, MSS")
    L.push("1460) on an established connection, on a fake chip in the VM (bench/devs/fake-enc28j60.ts: registers, buffer")
    L.push("memory with native blits, a frame sent is done at once); the bench plays the peer (bench/devs/peer.ts). Each")
    L.push("figure is a batch of hundreds of segments timed with `ds.millis()` (1 ms steps, batches of ≥ 120 ms, best of 5")
    L.push("taken in turns with the batches it is compared with). The VM's clock reads the CPU time of its own process")
    L.push("(bench/devs/vm-preload.cjs points the VM's `em_time_now` import at `process.cpuUsage()`), so other work on a")
    L.push("shared machine does not count; unloaded, it is the wall time.")
    L.push("")
    L.push("- **Bus excluded**: from each segment batch are subtracted its *harness* (the same loop with the peer making and")
    L.push("  delivering its frame, but no device) and the time spent inside the fake chip's `select`/`transfer`/`deselect`:")
    L.push("  the run's SPI calls are logged and replayed against the fake and against a bus that does nothing, the difference")
    L.push("  per call times the calls per segment. The driver's own calls into the bus stay in the driver.")
    L.push("- **Stack alone**: the same segments with the pump's device swapped for a bare one (frames handed over without")
    L.push("  copying); driver = segment − stack alone.")
    L.push(
        `- **Calibration**: a fixed arithmetic loop (\`x = (x * 31 + i) & 0xffff\`) costs ${c.toFixed(3)} µs an iteration here. The`,
    )
    L.push("  column *calib. iterations* is the segment's cost in iterations of it: run the same loop on a board to turn it into")
    L.push("  that board's µs (the DeviceScript maintainers expect a device 10–100× slower than a desktop).")
    L.push("- **GC stress**: `devs run --test`, the CLI's only headless mode, runs a full garbage collection at every")
    L.push("  allocation. The figures are taken with it **off** (the same preload passes 0 to the VM's")
    L.push("  `jd_em_devs_enable_gc_stress` export when the CLI turns it on; the run checks that the call was intercepted), as on a device,")
    L.push("  where the heap is collected when it fills. The *GC stress on* column is the CLI's default; *allocations* estimates")
    L.push(
        `  how many heap allocations a segment makes: its extra time over one small allocation's (${us1(r.allocUsOn - r.allocUs)} µs with stress).`,
    )
    L.push("  In this VM a function call's frame is itself a heap allocation (a call to an empty function costs one full")
    L.push("  collection under stress), so the count is mostly calls: the stack allocates no buffers per packet (section 2).")
    L.push("")
    L.push(mdRow(["per segment", "µs", "calib. iterations", "stack alone µs", "driver µs", "SPI commands", "frames sent", "µs, GC stress on", "≈ allocations"]))
    L.push(mdRow(["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]))
    for (const s of r.segments) {
        const o = s.off
        L.push(mdRow([s.label, us1(o.us), int(o.calibIters), us1(o.stackUs), us1(o.driverUs), o.spiCommands.toFixed(1), o.framesSent.toFixed(2), us1(s.onUs), int(s.allocations)]))
    }
    L.push("")
    const rx = r.segments[0].off.us
    const tx = r.segments[1].off.us
    L.push("Where a full-size segment's time goes (GC stress off; pieces timed on their own, 4 calls a cycle, the rest by")
    L.push("difference):")
    L.push("")
    L.push(mdRow(["piece", "received µs", "share", "sent µs", "share", "note"]))
    L.push(mdRow(["---", "---:", "---:", "---:", "---:", "---"]))
    for (const p of r.breakdown) L.push(mdRow([p.piece, us1(p.rxUs), share(p.rxUs, rx), us1(p.txUs), share(p.txUs, tx), p.note]))
    L.push(mdRow(["**total**", `**${us1(rx)}**`, "100 %", `**${us1(tx)}**`, "100 %", ""]))
    L.push("")
    L.push("The driver's calls on their own (bus excluded):")
    L.push("")
    L.push(mdRow(["driver call", "µs", "SPI commands"]))
    L.push(mdRow(["---", "---:", "---:"]))
    for (const d of r.driverCalls) L.push(mdRow([d.label, us1(d.us), d.spiCommands.toFixed(0)]))
    L.push("")
    L.push("The checksum, before and after (one call; `checksumAdd`, the loop every checksum of the stack runs):")
    L.push("")
    L.push(mdRow(["Internet checksum", "1460 B µs", "1460 B calib. iterations", "20 B (a header) µs"]))
    L.push(mdRow(["---", "---:", "---:", "---:"]))
    for (const k of r.checksum) L.push(mdRow([k.label, us1(k.us), int(k.calibIters), us1(k.headerUs)]))
    L.push("")
    L.push(
        `Loop overhead per cycle (\`await ds.sleep(0)\` and the job call), subtracted from the pieces: ${us1(r.cycleUs)} µs. ` +
            `One small allocation: ${us1(r.allocUs)} µs, ${us1(r.allocUsOn)} µs under GC stress. Calibration under GC stress: ` +
            `${r.calibUsPerIterOn.toFixed(3)} µs an iteration (it allocates nothing). Both VM runs: ${(r.wallMs / 1000).toFixed(0)} s.`,
    )
    if (r.problems.length > 0) {
        L.push("")
        L.push(`**Checks that should read 0 did not** (the figures above may be off): ${r.problems.join("; ")}.`)
    }
    return L
}

/** Stacked bars for the chart: the full-size segments by piece, the 60-byte ones as driver + stack. */
export function vmCostStacks(r: VmCostResult): { label: string; pieces: { name: string; us: number }[] }[] {
    if (r.error) return []
    const short = ["driver", "TCP checksum", "Ethernet + IPv4 parse", "ring copies", "rest of the stack"]
    const full = (label: string, pick: (p: PieceRow) => number) => ({
        label,
        pieces: r.breakdown.map((p, i) => ({ name: short[i], us: pick(p) })).filter((p) => Number.isFinite(p.us)),
    })
    const small = (label: string, s: SegmentRow) => ({
        label,
        pieces: [
            { name: "driver", us: s.off.driverUs },
            { name: "rest of the stack", us: s.off.stackUs },
        ],
    })
    return [
        full("receive 1460 B (1514 B frame)", (p) => p.rxUs),
        full("send 1460 B (+ its ACK in)", (p) => p.txUs),
        small("receive 6 B (60 B frame)", r.segments[2]),
        small("send 6 B (+ its ACK in)", r.segments[3]),
    ]
}
