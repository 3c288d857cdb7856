// `npm run sim` (the CLI) behind passt, as a laptop user runs it (no root): real netcat on
// host loopback talks to the device's echo server through passt's port forward.
import { afterAll, beforeAll, expect, test } from "vitest"
import { spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describeNeeds } from "./helpers/skip"
import { CliRun, startCli } from "./helpers/sim-cli"
import { freeTcpPort, patternBytes, sha256, tsharkExpert } from "./helpers/interop"
import { pidAlive } from "../sim/attach/process"

interface NcResult {
    code: number | null
    stdout: Buffer
    stderr: string
}

/** `nc -N 127.0.0.1 port` with input on stdin; killed (by PID) after timeoutMs. */
function nc(port: number, input: Buffer, timeoutMs = 20000): Promise<NcResult> {
    return new Promise((resolve) => {
        // -N: shut down the send side at stdin's EOF, so the echo server sees EOF and closes.
        const child = spawn("nc", ["-N", "127.0.0.1", String(port)], { stdio: ["pipe", "pipe", "pipe"] })
        const out: Buffer[] = []
        let err = ""
        child.stdout.on("data", (d: Buffer) => out.push(d))
        child.stderr.on("data", (d) => (err += d))
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
        child.once("exit", (code) => {
            clearTimeout(timer)
            resolve({ code, stdout: Buffer.concat(out), stderr: err })
        })
        child.stdin.end(input)
    })
}

describeNeeds("npm run sim behind passt, with real nc on host loopback", { tools: ["passt", "nc"] }, () => {
    let cli: CliRun = null
    let port = 0
    let dir: string = null

    beforeAll(async () => {
        port = await freeTcpPort()
        dir = mkdtempSync(join(tmpdir(), "enc-interop-passt-"))
        cli = startCli(["--port", String(port), "--pcap", join(dir, "passt.pcap")])
        const line = await cli.ready()
        expect(line).toContain(`127.0.0.1 ${port}`)
    })

    afterAll(async () => {
        const passtPid = Number(/passt \(pid (\d+)\)/.exec(cli?.output() ?? "")?.[1] ?? 0)
        if (cli) await cli.stop("SIGINT")
        if (passtPid && pidAlive(passtPid)) process.kill(passtPid, "SIGKILL")
        if (dir) rmSync(dir, { recursive: true, force: true })
    })

    test("printf 'hello\\n' | nc -N 127.0.0.1 PORT prints hello", async () => {
        // The README's command, run by a shell as a user would type it.
        const r = spawnSync("sh", ["-c", `printf 'hello\\n' | nc -N 127.0.0.1 ${port}`], { encoding: "utf8", timeout: 20000 })
        expect(r.stderr).toBe("")
        expect(r.status).toBe(0)
        expect(r.stdout).toBe("hello\n")
    }, 30000)

    test("100 KB through passt comes back byte-exact", async () => {
        const data = patternBytes(100 * 1024, 7)
        const t0 = Date.now()
        const r = await nc(port, data, 30000)
        console.log(`100 KB echo through passt: ${Date.now() - t0} ms`)
        expect(r.code).toBe(0)
        expect(r.stdout.length).toBe(data.length)
        expect(sha256(r.stdout)).toBe(sha256(data))
    }, 40000)

    test("four nc clients at once each get their own bytes back", async () => {
        const inputs = [0, 1, 2, 3].map((i) => patternBytes(20 * 1024, 100 + i))
        const results = await Promise.all(inputs.map((d) => nc(port, d, 30000)))
        for (let i = 0; i < 4; i++) {
            expect(results[i].code).toBe(0)
            expect(sha256(results[i].stdout)).toBe(sha256(inputs[i]))
        }
    }, 40000)

    test("SIGINT stops the CLI (exit 0) and passt with it; the capture is clean", async () => {
        const passtPid = Number(/passt \(pid (\d+)\)/.exec(cli.output())[1])
        const { code } = await cli.stop("SIGINT")
        expect(code).toBe(0)
        expect(pidAlive(passtPid)).toBe(false)
        const expert = await tsharkExpert(join(dir, "passt.pcap"))
        expect(expert.malformed, expert.text).toBe(0)
    }, 30000)
})
