// passt as the simulator's peer. First the attachment on its own (the test plays the guest),
// then the CLI as a child process.
import { afterEach, describe, expect, test } from "vitest"
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import { createServer, connect } from "node:net"
import { spawnSync } from "node:child_process"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parsePcap } from "../sim/pcap"
import { MissingToolError, pidAlive } from "../sim/attach/process"
import { PasstPort, startPasst } from "../sim/attach/passt"
import { describeNeeds } from "./helpers/skip"
import { CliRun, REPO_ROOT, startCli } from "./helpers/sim-cli"
import { freeTcpPort } from "./helpers/interop"

const GUEST_MAC = "020000000002"
const PASST_MAC = "020000000001"

function arpRequest(targetIp: number[]): Buffer {
    return Buffer.concat([
        Buffer.from("ffffffffffff" + GUEST_MAC + "0806" + "0001080006040001" + GUEST_MAC, "hex"),
        Buffer.from([10, 0, 2, 15]),
        Buffer.alloc(6),
        Buffer.from(targetIp),
        Buffer.alloc(18),
    ])
}

/** Collects frames from a port and lets a test wait for one matching a predicate. */
function collector(port: PasstPort) {
    const frames: Buffer[] = []
    port.onFrame((f) => frames.push(f))
    return {
        frames,
        async waitFor(pred: (f: Buffer) => boolean, ms = 5000): Promise<Buffer> {
            const deadline = Date.now() + ms
            for (;;) {
                const f = frames.find(pred)
                if (f) return f
                if (Date.now() > deadline) throw new Error(`no matching frame in ${frames.length} frames`)
                await new Promise((r) => setTimeout(r, 10))
            }
        },
    }
}

describe("passt attachment without passt on PATH", () => {
    test("fails with the apt-get hint", async () => {
        await expect(startPasst({ pathEnv: "/nonexistent" })).rejects.toThrow(MissingToolError)
        await expect(startPasst({ pathEnv: "/nonexistent" })).rejects.toThrow(/sudo apt-get install passt/)
    })
})

describeNeeds("passt attachment (test plays the guest)", { tools: ["passt"] }, () => {
    let port: PasstPort = null
    afterEach(async () => {
        if (port) await port.close()
        port = null
    })

    test("passt answers ARP for the gateway with its own MAC (-M)", async () => {
        port = await startPasst({})
        const c = collector(port)
        port.send(arpRequest([10, 0, 2, 2]))
        const reply = await c.waitFor((f) => f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 2)
        expect(reply.toString("hex", 0, 6)).toBe(GUEST_MAC)
        expect(reply.toString("hex", 22, 28)).toBe(PASST_MAC) // sender hardware address
        expect([...reply.subarray(28, 32)]).toEqual([10, 0, 2, 2]) // sender protocol address
    })

    test("a connection to the forwarded host port reaches the guest as a SYN to the guest port", async () => {
        const hostPort = await freeTcpPort()
        port = await startPasst({ tcp: [{ hostPort, guestPort: 7 }] })
        const c = collector(port)
        // Let passt learn our MAC and IP first.
        port.send(arpRequest([10, 0, 2, 2]))
        await c.waitFor((f) => f.readUInt16BE(12) === 0x0806)
        const sock = connect(hostPort, "127.0.0.1")
        sock.on("error", () => {})
        try {
            const syn = await c.waitFor((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 6 && (f[14 + 20 + 13] & 0x02) !== 0)
            expect([...syn.subarray(30, 34)]).toEqual([10, 0, 2, 15]) // IPv4 destination
            expect(syn.readUInt16BE(14 + 20 + 2)).toBe(7) // TCP destination port
        } finally {
            sock.destroy()
        }
    })

    test("close() stops passt by PID and removes its temp dir and socket", async () => {
        const p = await startPasst({})
        expect(pidAlive(p.pid)).toBe(true)
        expect(existsSync(p.dir)).toBe(true)
        await p.close()
        expect(pidAlive(p.pid)).toBe(false)
        expect(existsSync(p.dir)).toBe(false)
    })

    test("a forward port already in use is reported with passt's own message", async () => {
        const blocker = createServer()
        await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()))
        const hostPort = (blocker.address() as any).port
        try {
            await expect(startPasst({ tcp: [{ hostPort, guestPort: 7 }] })).rejects.toThrow(/Failed to bind/)
        } finally {
            blocker.close()
        }
    })
})

/** True when something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = connect(port, "127.0.0.1")
        s.once("connect", () => {
            s.destroy()
            resolve(true)
        })
        s.once("error", () => resolve(false))
    })
}

async function until<T>(what: string, f: () => T | undefined, ms = 10000): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
        const v = f()
        if (v !== undefined) return v
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 25))
    }
}

describe("CLI basics", () => {
    test("npm run sim -- --help prints the usage and exits 0", () => {
        const r = spawnSync("npm", ["run", "--silent", "sim", "--", "--help"], { cwd: REPO_ROOT, encoding: "utf8" })
        expect(r.status).toBe(0)
        expect(r.stdout).toMatch(/--netns NAME/)
        expect(r.stdout).toMatch(/--pcap FILE/)
    })

    test("an unknown flag or a bad port exits 2 with the usage", async () => {
        for (const args of [["--bogus"], ["--port", "70000"]]) {
            const cli = startCli(args)
            const { code } = await cli.exited
            expect(code).toBe(2)
            expect(cli.output()).toMatch(/usage: npm run sim/)
        }
    })

    test("without passt on PATH it exits non-zero and says how to install it", async () => {
        // A PATH that holds node and nothing else.
        const bin = mkdtempSync(join(tmpdir(), "enc-nopasst-"))
        try {
            symlinkSync(process.execPath, join(bin, "node"))
            const cli = startCli([], { ...process.env, PATH: bin })
            const { code } = await cli.exited
            expect(code).not.toBe(0)
            expect(cli.output()).toMatch(/passt is not installed/)
            expect(cli.output()).toMatch(/sudo apt-get install passt/)
            expect(cli.output()).not.toMatch(/ready/)
        } finally {
            rmSync(bin, { recursive: true, force: true })
        }
    })
})

describeNeeds("CLI with passt (npm run sim)", { tools: ["passt"] }, () => {
    let dir: string = null
    let cli: CliRun = null
    afterEach(async () => {
        if (cli) await cli.stop("SIGINT")
        cli = null
        if (dir) rmSync(dir, { recursive: true, force: true })
        dir = null
    })

    test("ready line; host connections reach the device's jack; SIGINT stops passt and exits 0", async () => {
        dir = mkdtempSync(join(tmpdir(), "enc-cli-passt-"))
        const pcap = join(dir, "cli.pcap")
        const port = await freeTcpPort()
        cli = startCli(["--port", String(port), "--pcap", pcap])
        const line = await cli.ready()
        expect(line).toMatch(/^ready: device 10\.0\.2\.15 \(02:00:00:00:00:02\) via passt/)
        expect(line).toContain(`nc -N 127.0.0.1 ${port}`)
        const passtPid = Number(/pid (\d+)/.exec(line)[1])
        expect(pidAlive(passtPid)).toBe(true)

        // passt accepts on the forwarded port and sends the device a SYN for port 7.
        const sock = connect(port, "127.0.0.1")
        sock.on("error", () => {})
        const syn = await until("a SYN in the capture", () =>
            parsePcap(readFileSync(pcap)).frames.find((f) => f.frame.readUInt16BE(12) === 0x0800 && f.frame[23] === 6 && f.frame.readUInt16BE(36) === 7),
        )
        sock.destroy()
        // passt broadcasts until the guest has sent it a frame (it learns the MAC from those).
        expect(["ffffffffffff", GUEST_MAC]).toContain(syn.frame.toString("hex", 0, 6))
        expect([...syn.frame.subarray(30, 34)]).toEqual([10, 0, 2, 15])
        expect(syn.tsUs).toBeGreaterThan(Date.parse("2020-01-01") * 1000) // wall-clock stamps

        const { code } = await cli.stop("SIGINT")
        expect(code).toBe(0)
        expect(pidAlive(passtPid)).toBe(false)
        expect(await listening(port)).toBe(false)
    })

    test("a second instance on a busy port fails with passt's reason", async () => {
        const blocker = createServer()
        await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()))
        try {
            cli = startCli(["--port", String((blocker.address() as any).port)])
            const { code } = await cli.exited
            expect(code).toBe(1)
            expect(cli.output()).toMatch(/Failed to bind/)
        } finally {
            blocker.close()
        }
    })

    test("if passt dies, the CLI says so and exits 1", async () => {
        cli = startCli(["--port", String(await freeTcpPort())])
        const passtPid = Number(/pid (\d+)/.exec(await cli.ready())[1])
        process.kill(passtPid, "SIGKILL")
        const { code } = await cli.exited
        expect(code).toBe(1)
        expect(cli.output()).toMatch(/passt exited unexpectedly/)
    })
})
