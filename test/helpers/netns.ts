// Network namespaces owned by one test file. Each gets a unique name (enc-test-<pid>-<n>),
// and is deleted in afterAll — also when the suite failed — and, as a last resort, when the
// worker process exits. Deleting first kills the processes still inside it (ping, nc...),
// which can only be ones the test started, since nothing else knows the namespace.

import { execFile, execFileSync } from "node:child_process"
import { afterAll, beforeAll } from "vitest"

let counter = 0
const live = new Set<string>()

export interface ExecResult {
    code: number
    stdout: string
    stderr: string
}

export class Netns {
    constructor(readonly name: string) {}

    /** Runs cmd inside the namespace; never rejects on a non-zero exit (the code is returned). */
    exec(cmd: string, args: string[], timeoutMs = 30000): Promise<ExecResult> {
        return execResult("ip", ["netns", "exec", this.name, cmd, ...args], timeoutMs)
    }

    /** PIDs of processes running inside the namespace. */
    async pids(): Promise<number[]> {
        const r = await execResult("ip", ["netns", "pids", this.name], 5000)
        return r.stdout.split(/\s+/).filter((s) => s !== "").map(Number)
    }

    async delete(): Promise<void> {
        if (!live.has(this.name)) return
        for (const pid of await this.pids()) {
            try {
                process.kill(pid, "SIGKILL")
            } catch {
                // gone already
            }
        }
        const r = await execResult("ip", ["netns", "del", this.name], 5000)
        if (r.code !== 0 && (await listNetns()).includes(this.name)) throw new Error(`ip netns del ${this.name}: ${r.stderr}`)
        live.delete(this.name)
    }
}

function execResult(cmd: string, args: string[], timeoutMs: number): Promise<ExecResult> {
    return new Promise((resolve) => {
        execFile(cmd, args, { encoding: "utf8", timeout: timeoutMs }, (err, stdout, stderr) => {
            const code = err ? (typeof (err as any).code === "number" ? (err as any).code : -1) : 0
            resolve({ code, stdout, stderr })
        })
    })
}

/** Names of all namespaces on the machine. */
export async function listNetns(): Promise<string[]> {
    const r = await execResult("ip", ["netns", "list"], 5000)
    return r.stdout
        .split("\n")
        .map((l) => l.trim().split(" ")[0])
        .filter((s) => s !== "")
}

export async function createNetns(): Promise<Netns> {
    const name = `enc-test-${process.pid}-${++counter}`
    const r = await execResult("ip", ["netns", "add", name], 5000)
    if (r.code !== 0) throw new Error(`ip netns add ${name}: ${r.stderr}`)
    live.add(name)
    // The namespace's loopback starts down; bring it up so local tools behave normally.
    await execResult("ip", ["-n", name, "link", "set", "lo", "up"], 5000)
    return new Netns(name)
}

process.on("exit", () => {
    for (const name of live) {
        try {
            execFileSync("ip", ["netns", "del", name], { stdio: "ignore" })
        } catch {
            // best effort
        }
    }
})

/** A namespace for the whole test file: created in beforeAll, deleted in afterAll. */
export function useNetns(): { ns: () => Netns } {
    let ns: Netns = null
    beforeAll(async () => {
        ns = await createNetns()
    })
    afterAll(async () => {
        if (ns) await ns.delete()
    })
    return { ns: () => ns }
}
