// The socket layer's Scheduler (src/socket/scheduler.ts) for Node.
//
// RealScheduler: wall-clock time, setTimeout and promises; for the CLI and real peers.
// VirtualScheduler: time on a sim/clock.ts VirtualClock that moves only when every task
// is blocked: then it jumps to the earliest pending sleep or wait deadline. A run is
// therefore deterministic and a test that waits minutes of TCP timers takes milliseconds.
//
// "Every task is blocked" is judged from Node's queues: the check runs from setImmediate,
// after all promise continuations have run, and only advances time after one more full
// round in which no task touched the scheduler (so other macrotask chains get their turn).

import { Scheduler, Task, Waiter } from "../src/socket/scheduler"
import { VirtualClock } from "./clock"

type NodeTimer = ReturnType<typeof setTimeout>

class RealWaiter implements Waiter {
    private resolve: ((woken: boolean) => void) | null = null
    private timer: NodeTimer | null = null
    private pending = false

    constructor(private sched: RealScheduler) {}

    wait(timeoutMs: number): Promise<boolean> {
        if (this.pending) {
            this.pending = false
            return Promise.resolve(true)
        }
        if (this.resolve) throw new Error("RealWaiter: two callers on one waiter")
        return new Promise((resolve) => {
            this.resolve = resolve
            this.timer = this.sched.setTimer(() => this.finish(false), timeoutMs)
        })
    }

    wake(): void {
        if (this.resolve) this.finish(true)
        else this.pending = true
    }

    private finish(woken: boolean): void {
        const r = this.resolve
        if (this.timer) this.sched.clearTimer(this.timer)
        this.resolve = null
        this.timer = null
        if (r) r(woken)
    }
}

export class RealScheduler implements Scheduler {
    failures = 0
    lastError: unknown = null
    private timers = new Set<NodeTimer>()
    private halted = false

    nowMs(): number {
        return performance.now()
    }

    sleep(ms: number): Promise<void> {
        return new Promise((resolve) => {
            // setTimeout(0) waits at least 1 ms: a plain yield goes through setImmediate.
            if (ms > 0) this.setTimer(() => resolve(), ms)
            else if (!this.halted) setImmediate(resolve)
        })
    }

    createWaiter(): Waiter {
        return new RealWaiter(this)
    }

    /** A timeout that halt() can cancel. */
    setTimer(fn: () => void, ms: number): NodeTimer {
        if (this.halted) return null
        const t = setTimeout(() => {
            this.timers.delete(t)
            fn()
        }, ms > 0 ? ms : 0)
        this.timers.add(t)
        return t
    }

    clearTimer(t: NodeTimer): void {
        clearTimeout(t)
        this.timers.delete(t)
    }

    /** Cancels every pending sleep and wait: tasks still blocked never resume (nothing keeps Node alive). */
    halt(): void {
        this.halted = true
        for (const t of this.timers) clearTimeout(t)
        this.timers.clear()
    }

    spawn(task: Task): void {
        task.run().catch((e) => {
            this.failures++
            this.lastError = e
        })
    }

    taskFailures(): number {
        return this.failures
    }
}

interface Timer {
    atUs: number
    seq: number
    live: boolean
    fire: () => void
}

class VirtualWaiter implements Waiter {
    private resolve: ((woken: boolean) => void) | null = null
    private timer: Timer | null = null
    private pending = false

    constructor(private sched: VirtualScheduler) {}

    wait(timeoutMs: number): Promise<boolean> {
        this.sched.touch()
        if (this.pending) {
            this.pending = false
            return Promise.resolve(true)
        }
        if (this.resolve) throw new Error("VirtualWaiter: two callers on one waiter")
        return new Promise((resolve) => {
            this.resolve = resolve
            this.timer = this.sched.addTimer(timeoutMs, () => this.finish(false))
        })
    }

    wake(): void {
        this.sched.touch()
        if (this.resolve) this.finish(true)
        else this.pending = true
    }

    private finish(woken: boolean): void {
        const r = this.resolve
        if (this.timer) this.timer.live = false
        this.resolve = null
        this.timer = null
        if (r) r(woken)
    }
}

export class VirtualScheduler implements Scheduler {
    readonly clock: VirtualClock
    failures = 0
    lastError: unknown = null
    /** Times the clock jumped forward (for tests and curiosity). */
    advances = 0
    private timers: Timer[] = []
    private seq = 0
    private activity = 0
    private seenActivity = -1
    private checkQueued = false
    private halted = false

    constructor(clock?: VirtualClock) {
        this.clock = clock ?? new VirtualClock()
    }

    nowMs(): number {
        return this.clock.nowUs() / 1000
    }

    sleep(ms: number): Promise<void> {
        this.touch()
        return new Promise((resolve) => {
            this.addTimer(ms, () => resolve())
        })
    }

    createWaiter(): Waiter {
        return new VirtualWaiter(this)
    }

    spawn(task: Task): void {
        this.touch()
        task.run().catch((e) => {
            this.failures++
            this.lastError = e
        })
    }

    taskFailures(): number {
        return this.failures
    }

    /** Pending sleeps and timed waits. */
    pendingTimers(): number {
        let n = 0
        for (const t of this.timers) if (t.live) n++
        return n
    }

    /**
     * Ends this virtual world: pending sleeps and waits never return and time stops, so
     * tasks left blocked (servers, pumps) cost nothing after a test.
     */
    halt(): void {
        this.halted = true
        this.timers = []
    }

    /** Records that a task did something, so time does not move under it. */
    touch(): void {
        this.activity++
    }

    addTimer(ms: number, fire: () => void): Timer {
        const delayUs = ms > 0 ? Math.ceil(ms * 1000) : 0
        const t: Timer = { atUs: this.clock.nowUs() + delayUs, seq: this.seq++, live: true, fire }
        if (this.halted) return t
        this.timers.push(t)
        this.queueCheck()
        return t
    }

    private queueCheck(): void {
        if (this.checkQueued) return
        this.checkQueued = true
        setImmediate(() => this.check())
    }

    private check(): void {
        this.checkQueued = false
        if (this.halted) return
        this.timers = this.timers.filter((t) => t.live)
        if (this.timers.length === 0) return
        let first = this.timers[0]
        for (const t of this.timers) if (t.atUs < first.atUs || (t.atUs === first.atUs && t.seq < first.seq)) first = t
        const now = this.clock.nowUs()
        if (first.atUs > now) {
            // Someone may still be running (another macrotask chain): give it a round first.
            if (this.activity !== this.seenActivity) {
                this.seenActivity = this.activity
                this.queueCheck()
                return
            }
            this.clock.advanceUs(first.atUs - now)
            this.advances++
        }
        const t = this.clock.nowUs()
        const due = this.timers.filter((x) => x.atUs <= t).sort((a, b) => a.atUs - b.atUs || a.seq - b.seq)
        for (const x of due) {
            if (!x.live) continue
            x.live = false
            x.fire()
        }
        this.touch()
        this.queueCheck()
    }
}
