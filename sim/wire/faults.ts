// Fault injection on simulated Ethernet, seeded and reproducible: frames can be lost,
// duplicated, reordered (within a bounded window), delayed with jitter, paced at a wire
// rate (10BASE-T: preamble 8 + frame (padded to 60) + FCS 4 + gap 12 bytes at 0.8 µs per
// byte), corrupted on the wire (a flipped bit with the old FCS: the receiving MAC must drop
// it), corrupted above the FCS (a flipped bit with a valid FCS: IP/TCP checksums must catch
// it), or the cable cut.
//
// FaultStage is one direction; FaultyPort is a FramePort middleware (faults on what is sent
// into the wrapped port, optionally also on what comes out of it); FaultyLink is a
// PointToPointLink with a stage in each direction.
//
// Time: a WireTimer. On virtual time (virtualWireTimer over the tests' VirtualScheduler) a
// delayed frame is a pending timer like any TCP timer, so the scheduler jumps to it when
// everyone is blocked: runs are deterministic for a seed. realWireTimer is for the CLI.

import { mulberry32 } from "../enc28j60/prng"
import { FrameHandler, FramePort } from "./frame-port"

/** 10BASE-T: 0.8 µs per byte on the wire. */
export const WIRE_BYTE_US_10M = 0.8
/** Preamble + SFD, FCS, inter-frame gap, minimum frame without FCS (802.3 §4.4.2). */
const PREAMBLE_BYTES = 8
const FCS_BYTES = 4
const IFG_BYTES = 12
const MIN_FRAME = 60

/** Bytes a frame (given without FCS) occupies on the wire, gap included. */
export function wireBytes(frameLength: number): number {
    return PREAMBLE_BYTES + Math.max(frameLength, MIN_FRAME) + FCS_BYTES + IFG_BYTES
}

/** The time source and timers the faults run on. */
export interface WireTimer {
    nowMs(): number
    /** Calls fn once, ms from now (0 = as soon as possible, never synchronously). */
    after(ms: number, fn: () => void): void
}

/** What virtualWireTimer needs from sim/scheduler.ts's VirtualScheduler. */
export interface VirtualTimers {
    nowMs(): number
    addTimer(ms: number, fire: () => void): unknown
}

/** Timers on a VirtualScheduler: the scheduler advances virtual time to them. */
export function virtualWireTimer(sched: VirtualTimers): WireTimer {
    return { nowMs: () => sched.nowMs(), after: (ms, fn) => void sched.addTimer(ms, fn) }
}

/** Wall-clock timers (setTimeout; sub-millisecond delays become the next event-loop turn). */
export function realWireTimer(): WireTimer {
    return {
        nowMs: () => performance.now(),
        after: (ms, fn) => {
            if (ms >= 1) setTimeout(fn, ms)
            else setImmediate(fn)
        },
    }
}

export interface FaultOptions {
    /** Probability a frame is lost. */
    loss?: number
    /** Probability a frame is delivered twice. */
    dup?: number
    /** Probability a frame is held back behind 1..reorderWindow later frames. */
    reorder?: number
    /** Most later frames a held frame waits for (default 3); also the most frames held at once. */
    reorderWindow?: number
    /** A held frame goes out after this long even if no later frame came (default 5 ms). */
    reorderMaxHoldMs?: number
    /** Fixed one-way delay, and a uniform extra 0..jitterMs (FIFO kept: jitter never reorders). */
    delayMs?: number
    jitterMs?: number
    /** Line rate, bits per second (10e6 = 10BASE-T); 0 = unlimited. */
    rateBps?: number
    /** Probability a frame gets one bit flipped on the wire: its FCS no longer matches. */
    corruptWire?: number
    /** Probability an IPv4 frame gets one bit flipped above the FCS (in its IP datagram). */
    corruptPayload?: number
    /** Seed of the stage's PRNG (default 1). */
    seed?: number
    /** Most frames queued in the stage (tail drop beyond); default 1024. */
    queueLimit?: number
    /** Timers (default real time). */
    timer?: WireTimer
}

/** A port whose receiver checks the FCS and can be handed a frame whose FCS is wrong. */
export interface FcsPort extends FramePort {
    /** Puts a frame on the wire whose FCS does not match it (the receiving MAC decides). */
    sendWithBadFcs(frame: Buffer): void
}

export function isFcsPort(p: FramePort): p is FcsPort {
    return typeof (p as FcsPort).sendWithBadFcs === "function"
}

/** What the chip model offers for a bad FCS (sim/enc28j60/chip.ts: faults.crcErrorNext). */
export interface ChipWithFcsFault {
    faults: { crcErrorNext: boolean }
}

/**
 * The chip's jack (a ChipPort) with bad-FCS delivery: the chip model computes the FCS of
 * what arrives, and faults.crcErrorNext makes it mismatch, so the chip's own CRC check
 * (ERXFCON.CRCEN) drops the frame and counts it, as the silicon would.
 */
export class ChipFcsPort implements FcsPort {
    constructor(
        private readonly jack: FramePort,
        private readonly chip: ChipWithFcsFault,
    ) {}
    send(frame: Buffer): void {
        this.jack.send(frame)
    }
    sendWithBadFcs(frame: Buffer): void {
        this.chip.faults.crcErrorNext = true
        this.jack.send(frame)
        // A frame refused before the MAC (no link, receiver off) leaves the flag armed.
        this.chip.faults.crcErrorNext = false
    }
    onFrame(handler: FrameHandler): void {
        this.jack.onFrame(handler)
    }
    close(): Promise<void> {
        return this.jack.close()
    }
}

export interface FaultStats {
    /** Frames offered to the stage, and handed on (duplicates included). */
    offered: number
    delivered: number
    lost: number
    duplicated: number
    reordered: number
    /** Flipped on the wire: handed on with a bad FCS, or dropped where the port has no FCS. */
    corruptedWire: number
    corruptedPayload: number
    /** Dropped while the cable was cut, or because the queue was full. */
    cut: number
    queueDrops: number
}

interface Queued {
    frame: Buffer
    dueMs: number
    badFcs: boolean
}

interface Held {
    item: Queued
    /** Later frames still to pass it. */
    after: number
    id: number
}

/** Faults for frames travelling one way, into `target`. */
export class FaultStage {
    readonly stats: FaultStats = {
        offered: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, corruptedWire: 0, corruptedPayload: 0, cut: 0, queueDrops: 0,
    }
    private opts: FaultOptions
    private rng: () => number
    private readonly timer: WireTimer
    private queue: Queued[] = []
    private held: Held[] = []
    private heldIds = 0
    private timerAt = Infinity
    private busyUntilMs = 0
    private lastDueMs = 0
    private cutUntilMs = -1
    private cutForever = false
    private closed = false

    constructor(
        private readonly target: FramePort,
        opts: FaultOptions = {},
    ) {
        this.opts = { ...opts }
        this.rng = mulberry32(opts.seed ?? 1)
        this.timer = opts.timer ?? realWireTimer()
    }

    /** Changes probabilities/delays from now on (the PRNG and the timer stay). */
    configure(opts: FaultOptions): void {
        this.opts = { ...this.opts, ...opts, timer: this.opts.timer }
    }

    /** Cuts the cable for ms (Infinity: until mend()); frames offered meanwhile are lost. */
    cut(ms: number = Infinity): void {
        if (ms === Infinity) this.cutForever = true
        else this.cutUntilMs = Math.max(this.cutUntilMs, this.timer.nowMs() + ms)
    }

    mend(): void {
        this.cutForever = false
        this.cutUntilMs = -1
    }

    isCut(): boolean {
        return this.cutForever || this.timer.nowMs() < this.cutUntilMs
    }

    /** Frames waiting in the stage (queued or held for reordering). */
    pending(): number {
        return this.queue.length + this.held.length
    }

    close(): void {
        this.closed = true
        this.queue = []
        this.held = []
    }

    /** A frame enters the stage. The stage keeps its own copy. */
    push(frame: Buffer): void {
        if (this.closed) return
        const o = this.opts
        const s = this.stats
        s.offered++
        if (this.isCut()) {
            s.cut++
            return
        }
        if (this.chance(o.loss)) {
            s.lost++
            return
        }
        const copies = this.chance(o.dup) ? 2 : 1
        if (copies === 2) s.duplicated++
        for (let c = 0; c < copies; c++) {
            let f = Buffer.from(frame)
            let badFcs = false
            if (this.chance(o.corruptWire)) {
                this.flipBit(f, 0, f.length)
                badFcs = true
                s.corruptedWire++
            } else if (this.chance(o.corruptPayload) && this.corruptIp(f)) {
                s.corruptedPayload++
            }
            this.enqueue(f, badFcs)
        }
    }

    private chance(p: number | undefined): boolean {
        // Always draw, so one fault's probability does not shift the others' random stream.
        const r = this.rng()
        return p !== undefined && p > 0 && r < p
    }

    private flipBit(f: Buffer, from: number, to: number): void {
        const bit = Math.floor(this.rng() * (to - from) * 8)
        f[from + (bit >> 3)] ^= 1 << (bit & 7)
    }

    /**
     * Flips one bit inside the IP datagram of an IPv4 frame (ARP carries no checksum, so a
     * bit flipped above the FCS there proves nothing but ARP-cache poisoning). Returns
     * false (frame untouched) for anything else.
     */
    private corruptIp(f: Buffer): boolean {
        if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) return false
        const end = Math.min(f.length, 14 + f.readUInt16BE(16))
        if (end <= 14) return false
        this.flipBit(f, 14, end)
        return true
    }

    private enqueue(frame: Buffer, badFcs: boolean): void {
        const o = this.opts
        if (this.queue.length >= (o.queueLimit ?? 1024)) {
            this.stats.queueDrops++
            return
        }
        const now = this.timer.nowMs()
        let ready = now
        if (o.rateBps && o.rateBps > 0) {
            // Serialisation: one frame at a time at the line rate.
            const start = Math.max(now, this.busyUntilMs)
            this.busyUntilMs = start + (wireBytes(frame.length) * 8 * 1000) / o.rateBps
            ready = this.busyUntilMs
        }
        const jitter = o.jitterMs && o.jitterMs > 0 ? this.rng() * o.jitterMs : 0
        // FIFO: jitter stretches gaps but never lets a frame overtake the one before it.
        const dueMs = Math.max(ready + (o.delayMs ?? 0) + jitter, this.lastDueMs)
        this.lastDueMs = dueMs
        const item: Queued = { frame, dueMs, badFcs }
        const window = o.reorderWindow ?? 3
        if (this.chance(o.reorder) && this.held.length < window) {
            this.stats.reordered++
            const h: Held = { item, after: 1 + Math.floor(this.rng() * window), id: ++this.heldIds }
            this.held.push(h)
            const id = h.id
            this.timer.after(Math.max(0, dueMs - now) + (o.reorderMaxHoldMs ?? 5), () => this.releaseHeld(id))
            return
        }
        this.queue.push(item)
        this.arm()
    }

    private arm(): void {
        if (this.queue.length === 0) return
        const due = this.queue[0].dueMs
        if (due >= this.timerAt) return
        this.timerAt = due
        this.timer.after(Math.max(0, due - this.timer.nowMs()), () => this.drain())
    }

    private drain(): void {
        this.timerAt = Infinity
        if (this.closed) return
        const now = this.timer.nowMs()
        while (this.queue.length > 0 && this.queue[0].dueMs <= now + 1e-9) {
            this.deliverPassing(this.queue.shift())
        }
        this.arm()
    }

    /**
     * Delivers a frame, counting it as passing every held frame; a held frame whose count
     * runs out goes next (and passes the others in turn). So a frame is never delivered
     * more than reorderWindow places late.
     */
    private deliverPassing(item: Queued): void {
        const ready: Queued[] = [item]
        while (ready.length > 0) {
            this.deliver(ready.shift())
            for (let i = 0; i < this.held.length; i++) {
                const h = this.held[i]
                if (--h.after <= 0) {
                    this.held.splice(i--, 1)
                    ready.push(h.item)
                }
            }
        }
    }

    private releaseHeld(id: number): void {
        if (this.closed) return
        const i = this.held.findIndex((h) => h.id === id)
        if (i < 0) return
        const [h] = this.held.splice(i, 1)
        this.deliverPassing(h.item)
    }

    private deliver(item: Queued): void {
        if (this.isCut()) {
            this.stats.cut++
            return
        }
        this.stats.delivered++
        if (!item.badFcs) this.target.send(item.frame)
        else if (isFcsPort(this.target)) this.target.sendWithBadFcs(item.frame)
        // else: a receiver without an FCS check would see garbage; a real NIC drops it here.
    }
}

/** Derives the seed of a second stream from a seed. */
function otherSeed(seed: number): number {
    return (Math.imul((seed ?? 1) >>> 0, 0x9e3779b1) ^ 0x5bd1e995) >>> 0
}

export interface FaultyPortOptions extends FaultOptions {
    /** Also apply the faults (an independent stream) to frames coming out of the wrapped port. */
    bothWays?: boolean
}

/**
 * A FramePort middleware: what is sent into it reaches `inner` through a FaultStage;
 * what `inner` produces comes out unchanged (or through a second stage with bothWays).
 * Plug it into a switch or a link in place of `inner`.
 */
export class FaultyPort implements FcsPort {
    /** Faults on frames going into inner; on frames coming out of it (null without bothWays). */
    readonly toInner: FaultStage
    readonly fromInner: FaultStage | null
    private handler: FrameHandler = null

    constructor(
        readonly inner: FramePort,
        opts: FaultyPortOptions = {},
    ) {
        this.toInner = new FaultStage(inner, opts)
        const self = this
        const out: FramePort = {
            send: (frame) => {
                if (self.handler) self.handler(frame)
            },
            onFrame: () => {},
            close: async () => {},
        }
        this.fromInner = opts.bothWays ? new FaultStage(out, { ...opts, seed: otherSeed(opts.seed) }) : null
        inner.onFrame((frame) => {
            if (this.fromInner) this.fromInner.push(frame)
            else if (this.handler) this.handler(frame)
        })
    }

    send(frame: Buffer): void {
        this.toInner.push(frame)
    }

    /** A frame already damaged on the wire upstream: it stays damaged (delivered with a bad FCS or dropped). */
    sendWithBadFcs(frame: Buffer): void {
        if (isFcsPort(this.inner)) this.inner.sendWithBadFcs(frame)
    }

    onFrame(handler: FrameHandler): void {
        this.handler = handler
    }

    async close(): Promise<void> {
        this.toInner.close()
        this.fromInner?.close()
        await this.inner.close()
    }
}

/** Sees a frame entering the link (before any fault); `from` is the index of the port it came from. */
export type FaultyLinkObserver = (frame: Buffer, from: number) => void

/**
 * A cable with faults both ways: frames from port 0 go through stages[0] to port 1, and
 * from port 1 through stages[1] to port 0. Each direction has its own PRNG stream.
 */
export class FaultyLink {
    readonly ports: FramePort[]
    readonly stages: FaultStage[]
    private observers: FaultyLinkObserver[] = []
    private closed = false

    constructor(a: FramePort, b: FramePort, opts: FaultOptions = {}) {
        this.ports = [a, b]
        const seed = opts.seed ?? 1
        this.stages = [new FaultStage(b, { ...opts, seed }), new FaultStage(a, { ...opts, seed: otherSeed(seed) })]
        a.onFrame((frame) => this.carry(frame, 0))
        b.onFrame((frame) => this.carry(frame, 1))
    }

    observe(observer: FaultyLinkObserver): void {
        this.observers.push(observer)
    }

    /** Changes the faults of both directions from now on. */
    configure(opts: FaultOptions): void {
        for (const s of this.stages) s.configure(opts)
    }

    /** Cuts the cable both ways for ms (default: until mend()). */
    cut(ms: number = Infinity): void {
        for (const s of this.stages) s.cut(ms)
    }

    mend(): void {
        for (const s of this.stages) s.mend()
    }

    /** The two directions' counters added up. */
    totals(): FaultStats {
        const t = { ...this.stages[0].stats }
        const b = this.stages[1].stats as unknown as Record<string, number>
        for (const k of Object.keys(t) as (keyof FaultStats)[]) t[k] += b[k]
        return t
    }

    private carry(frame: Buffer, from: number): void {
        if (this.closed) return
        for (const o of this.observers) o(frame, from)
        this.stages[from].push(frame)
    }

    /** Stops carrying frames and closes both ports. */
    async close(): Promise<void> {
        if (this.closed) return
        this.closed = true
        for (const s of this.stages) s.close()
        await Promise.all(this.ports.map((p) => p.close()))
    }
}
