// Runs the simulator CLI (sim/cli.ts) as a child process, the way `npm run sim` does, and
// waits for its "ready" line.

import { ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url))

export interface CliRun {
    child: ChildProcess
    /** Everything printed so far, stdout and stderr interleaved. */
    output(): string
    /** Resolves with the first line containing "ready"; rejects if the CLI exits first. */
    ready(timeoutMs?: number): Promise<string>
    /** Resolves with the first line matching re; rejects if the CLI exits first or after timeoutMs. */
    waitFor(re: RegExp, timeoutMs?: number): Promise<string>
    /** Exit code (null after a signal) and signal. */
    exited: Promise<{ code: number | null; signal: string | null }>
    /** Sends a signal to the CLI's PID and waits for it to exit (SIGKILL after graceMs). */
    stop(signal?: NodeJS.Signals, graceMs?: number): Promise<{ code: number | null; signal: string | null }>
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = process.env): CliRun {
    const child = spawn(process.execPath, ["--import", "tsx", "sim/cli.ts", ...args], {
        cwd: REPO_ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
    })
    let out = ""
    const listeners: Array<() => void> = []
    const onData = (d: Buffer) => {
        out += d.toString()
        for (const l of listeners) l()
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    // Set before the listeners run, so a ready() still waiting sees the exit at once.
    let done = false
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        child.once("exit", (code, signal) => {
            // Let the last output arrive before anyone reads it.
            setImmediate(() => {
                done = true
                resolve({ code, signal })
                for (const l of listeners) l()
            })
        })
    })

    const waitFor = (re: RegExp, timeoutMs = 20000): Promise<string> =>
        new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${out}`)), timeoutMs)
            const check = () => {
                const line = out.split("\n").find((l) => re.test(l))
                if (line !== undefined) {
                    clearTimeout(timer)
                    resolve(line)
                } else if (done) {
                    clearTimeout(timer)
                    reject(new Error(`CLI exited before a line matching ${re}; output:\n${out}`))
                }
            }
            listeners.push(check)
            check()
        })

    return {
        child,
        output: () => out,
        exited,
        ready: (timeoutMs = 20000) => waitFor(/ready/, timeoutMs),
        waitFor,
        async stop(signal: NodeJS.Signals = "SIGINT", graceMs = 5000) {
            if (done) return exited
            child.kill(signal)
            const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
            const r = await exited
            clearTimeout(timer)
            return r
        },
    }
}
