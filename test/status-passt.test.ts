// The status page of `npm run sim -- --port P --status-port Q` behind passt, read the way a
// person would: real curl and nc on host loopback.
import { afterAll, beforeAll, expect, test } from "vitest"
import { spawnSync } from "node:child_process"
import { connect, Socket } from "node:net"
import { describeNeeds } from "./helpers/skip"
import { CliRun, startCli } from "./helpers/sim-cli"
import { freeTcpPort } from "./helpers/interop"
import { pidAlive } from "../sim/attach/process"

/** A TCP connection to host port `port` that has echoed one line back (so it is ESTABLISHED). */
function openEcho(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
        const s = connect(port, "127.0.0.1", () => s.write("hi\n"))
        s.once("data", () => resolve(s))
        s.once("error", reject)
    })
}

describeNeeds("status page through passt, with real curl and nc", { tools: ["passt", "curl", "nc"] }, () => {
    let cli: CliRun = null
    let echoPort = 0
    let statusPort = 0

    beforeAll(async () => {
        echoPort = await freeTcpPort()
        statusPort = await freeTcpPort()
        cli = startCli(["--port", String(echoPort), "--status-port", String(statusPort)])
        const line = await cli.ready()
        expect(line).toContain(`curl http://127.0.0.1:${statusPort}/`)
    }, 30000)

    afterAll(async () => {
        const passtPid = Number(/passt \(pid (\d+)\)/.exec(cli?.output() ?? "")?.[1] ?? 0)
        if (cli) await cli.stop("SIGINT")
        if (passtPid && pidAlive(passtPid)) process.kill(passtPid, "SIGKILL")
    })

    test("curl shows LISTEN on 7, 9 and 80, a live echo connection and its own connection ESTABLISHED", async () => {
        const echo = await openEcho(echoPort)
        try {
            const r = spawnSync("curl", ["-s", "-S", "-i", "--max-time", "15", `http://127.0.0.1:${statusPort}/`], { encoding: "latin1", timeout: 20000 })
            expect(r.stderr).toBe("")
            expect(r.status).toBe(0)
            const text = r.stdout
            console.log(text)
            expect(text).toMatch(/^HTTP\/1\.0 200 OK\r\nContent-Type: text\/plain\r\n/)
            expect(text).toMatch(/\nip 10\.0\.2\.15 mask 255\.255\.255\.0 gw 10\.0\.2\.2 mac 02:00:00:00:00:02 static\n/)
            for (const port of [7, 9, 80]) expect(text).toMatch(new RegExp(`\\n\\d+ +\\d+ +10\\.0\\.2\\.15:${port} +0\\.0\\.0\\.0:\\* +LISTEN +syn-q \\d+/\\d+ accept-q \\d+/\\d+\\n`))
            expect(text).toMatch(/\n\d+ +\d+ +10\.0\.2\.15:7 +[\d.]+:\d+ +ESTABLISHED\n/)
            expect(text).toMatch(/\n0 +0 +10\.0\.2\.15:80 +[\d.]+:\d+ +ESTABLISHED\n/)
            expect(text).toMatch(/\narp\n10\.0\.2\.2 lladdr [0-9a-f:]{17} resolved age \d+ s\n/)
            expect(text).toMatch(/\ninterface: rxFrames=\d+/)
            expect(text).toMatch(/\ndriver: rxFrames=\d+/)
            expect(text).not.toContain("truncated")
        } finally {
            echo.destroy()
        }
    }, 30000)

    test("nc with nothing to send gets the page too", () => {
        // -N: stdin's EOF shuts down the sending side; the server answers at end of stream.
        const r = spawnSync("sh", ["-c", `nc -N 127.0.0.1 ${statusPort} </dev/null`], { encoding: "latin1", timeout: 20000 })
        expect(r.status).toBe(0)
        expect(r.stdout).toMatch(/^HTTP\/1\.0 200 OK\r\n/)
        // Its connection is half-closed by nc: the page shows it in CLOSE-WAIT.
        expect(r.stdout).toMatch(/\n0 +0 +10\.0\.2\.15:80 +[\d.]+:\d+ +CLOSE-WAIT\n/)
    }, 30000)
})
