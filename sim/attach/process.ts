// Small helpers for the attachments: find a tool, run a command, stop a child by PID.

import { ChildProcess, execFile } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { delimiter, join } from "node:path"

/** A system tool the simulator needs is not installed. */
export class MissingToolError extends Error {
    constructor(
        readonly tool: string,
        readonly aptPackage: string,
    ) {
        super(`${tool} is not installed (not found on PATH); install it with: sudo apt-get install ${aptPackage}`)
        this.name = "MissingToolError"
    }
}

/** Absolute path of an executable found on pathEnv (default: this process's PATH), or null. */
export function findExecutable(name: string, pathEnv: string = process.env.PATH ?? ""): string | null {
    for (const dir of pathEnv.split(delimiter)) {
        if (dir === "") continue
        const candidate = join(dir, name)
        try {
            accessSync(candidate, constants.X_OK)
            return candidate
        } catch {
            // not here
        }
    }
    return null
}

/** Like findExecutable, but throws MissingToolError naming the Debian package. */
export function requireTool(name: string, aptPackage: string, pathEnv?: string): string {
    const found = findExecutable(name, pathEnv)
    if (found === null) throw new MissingToolError(name, aptPackage)
    return found
}

/** Runs a command to completion; rejects with its stderr when it exits non-zero. */
export function run(cmd: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, { encoding: "utf8" }, (err, stdout, stderr) => {
            if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${(stderr || err.message).trim()}`))
            else resolve(stdout)
        })
    })
}

/** Resolves with the exit code (or null after a signal) once the child has exited. */
export function exitOf(child: ChildProcess): Promise<number | null> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
    return new Promise((resolve) => child.once("exit", (code) => resolve(code)))
}

/** Sends SIGTERM to the child's PID, then SIGKILL if it is still there after graceMs. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
    const exited = exitOf(child)
    if (child.exitCode !== null || child.signalCode !== null) return
    signal(child.pid, "SIGTERM")
    const timer = setTimeout(() => signal(child.pid, "SIGKILL"), graceMs)
    await exited
    clearTimeout(timer)
}

function signal(pid: number, sig: NodeJS.Signals): void {
    try {
        process.kill(pid, sig)
    } catch {
        // already gone
    }
}

/** True while a process with this PID exists (a zombie not yet reaped counts as existing). */
export function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0)
        return true
    } catch {
        return false
    }
}

/** Polls until check() returns true; rejects after timeoutMs naming what it waited for. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 20))
    }
}
