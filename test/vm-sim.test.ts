// `npm run sim -- --vm`: the CLI runs the compiled firmware in the DeviceScript VM, its SPI
// bridged to the chip model, the chip's wire in passt. `nc` to the forwarded port must get
// its bytes echoed by the firmware; Ctrl-C must stop the VM too.
import { afterEach, expect, test } from "vitest"
import { spawnSync } from "node:child_process"
import { pidAlive } from "../sim/attach/process"
import { describeNeeds } from "./helpers/skip"
import { CliRun, startCli } from "./helpers/sim-cli"
import { freeTcpPort } from "./helpers/interop"

describeNeeds("npm run sim -- --vm (passt)", { tools: ["passt", "nc"] }, () => {
    let cli: CliRun = null

    afterEach(async () => {
        if (cli) await cli.stop("SIGKILL")
        cli = null
    })

    test("nc gets its bytes echoed by the firmware in the VM", async () => {
        const port = await freeTcpPort()
        cli = startCli(["--vm", "--port", String(port)])
        // (ready() alone misses an exit before "ready" and waits out its timeout.)
        const run = cli
        const ready = await Promise.race([
            run.ready(50000),
            run.exited.then((r) => Promise.reject(new Error(`the CLI exited (code ${r.code}) before "ready":\n${run.output()}`))),
        ])
        expect(ready).toMatch(/DeviceScript VM, pid \d+\) 10\.0\.2\.15 via passt/)
        const vmPid = Number(/pid (\d+)\)/.exec(ready)[1])
        expect(pidAlive(vmPid)).toBe(true)

        const text = `hello from nc ${process.pid}\n`
        const nc = spawnSync("nc", ["-N", "-w", "10", "127.0.0.1", String(port)], { input: text, encoding: "utf8", timeout: 20000 })
        expect(nc.stdout).toBe(text)
        // The firmware said where it is (its DHCP lease from passt), and did not panic.
        expect(cli.output()).toMatch(/vm: WASM> address 10\.0\.2\.15:/)
        expect(cli.output()).not.toMatch(/PANIC|InfiniteLoop|OutOfMemory/)

        const r = await cli.stop("SIGINT")
        cli = null
        expect(r.code).toBe(0)
        expect(pidAlive(vmPid)).toBe(false)
    }, 60000)
})
