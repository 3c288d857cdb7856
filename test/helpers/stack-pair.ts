// Two whole NetStacks (interface + TCP + sockets + pump) joined back to back by a
// MemoryLink, on one VirtualScheduler: deterministic, and minutes of TCP timers pass in
// milliseconds. Used by test/socket*.test.ts, test/stack*.test.ts and test/apps*.test.ts.

import { makeConfig, StackConfig } from "../../src/config"
import { NetStack, NetStackOptions } from "../../src/stack"
import { MemoryLink } from "../../src/socket/memory-link"
import { SocketError } from "../../src/tcp/errors"
import { errorName } from "../../src/tcp/errors"
import { VirtualScheduler } from "../../sim/scheduler"

export const A_IP = "10.0.0.1"
export const B_IP = "10.0.0.2"
export const A_ADDR = 0x0a000001
export const B_ADDR = 0x0a000002

export interface PairOptions extends NetStackOptions {
    /** Frames each direction of the link holds (default 16). */
    linkQueue?: number
}

export interface Pair {
    sched: VirtualScheduler
    link: MemoryLink
    /** a = 10.0.0.1 ("server"), b = 10.0.0.2 ("client"). */
    a: NetStack
    b: NetStack
    /** Stops both pumps and halts virtual time. */
    stop(): void
}

export function pairConfig(ip: string, macLast: number, over?: Partial<StackConfig>): StackConfig {
    return makeConfig({
        mac: [0x02, 0, 0, 0, 0, macLast],
        ip,
        netmask: "255.255.255.0",
        gateway: "10.0.0.254",
        tcpSecretSeed: 1000 + macLast,
        ...(over ?? {}),
    })
}

export async function startPair(over?: Partial<StackConfig>, opts?: PairOptions): Promise<Pair> {
    const sched = new VirtualScheduler()
    const link = new MemoryLink(opts?.linkQueue ?? 16)
    const so: NetStackOptions = { idlePollMs: opts?.idlePollMs ?? 1000, waiters: opts?.waiters }
    const a = new NetStack(pairConfig(A_IP, 1, over), sched, link.a, so)
    const b = new NetStack(pairConfig(B_IP, 2, over), sched, link.b, so)
    link.a.notify = a.rxNotify
    link.b.notify = b.rxNotify
    await a.start()
    await b.start()
    return {
        sched,
        link,
        a,
        b,
        stop() {
            a.stop()
            b.stop()
            sched.halt()
        },
    }
}

/** Runs fn and returns the errno name it throws as a SocketError ("" if it does not throw). */
export async function errnoOf(fn: () => unknown): Promise<string> {
    try {
        await fn()
    } catch (e) {
        if (e instanceof SocketError) return errorName(e.code)
        throw e
    }
    return ""
}

/** Lets virtual time pass (every task gets to run meanwhile). */
export function sleep(p: Pair, ms: number): Promise<void> {
    return p.sched.sleep(ms)
}

/** Deterministic bytes. */
export { patternBytes as pattern } from "./data"
