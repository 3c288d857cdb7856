// `npm run sim -- --netns NS --devices 3` (root): three simulated devices and the namespace's
// TAP on one Ethernet switch. The kernel in the namespace reaches device 2's echo; devices 2
// and 3 each run a TCP client (the stack's socket API) to device 1's echo through the switch,
// which the CLI reports and --trace shows frame by frame. Without --netns, --devices > 1 is
// refused (passt serves one guest address and one guest MAC).
import { afterAll, beforeAll, describe, expect, test } from "vitest"
import { pidAlive } from "../sim/attach/process"
import { runKernelClients } from "./helpers/interop"
import { Netns, createNetns, listNetns } from "./helpers/netns"
import { CliRun, startCli } from "./helpers/sim-cli"
import { describeNeeds } from "./helpers/skip"

const NEEDS = { root: true, tun: true, tools: ["socat", "ip", "ping", "python3"] }
const DEV = ["10.200.0.2", "10.200.0.3", "10.200.0.4"]
const MAC = ["02:00:00:00:00:02", "02:00:00:00:00:03", "02:00:00:00:00:04"]

describe("--devices without a namespace", () => {
    test("is refused with the reason, exit 2", async () => {
        const cli = startCli(["--devices", "2"])
        const { code } = await cli.exited
        expect(code).toBe(2)
        expect(cli.output()).toMatch(/--devices: needs --netns \(passt forwards host ports to one guest address/)
    })
})

describeNeeds("three devices and the host on one switch (sim/cli.ts --netns NS --devices 3)", NEEDS, () => {
    let ns: Netns = null
    let cli: CliRun = null
    let socatPid = 0
    let ready = ""

    beforeAll(async () => {
        ns = await createNetns()
        cli = startCli(["--netns", ns.name, "--devices", "3", "--trace"])
        ready = await cli.ready(30000)
        socatPid = Number(/socat pid (\d+)/.exec(ready)[1])
    }, 60000)

    afterAll(async () => {
        if (cli) await cli.stop("SIGINT")
        if (socatPid && pidAlive(socatPid)) process.kill(socatPid, "SIGKILL")
        if (ns) await ns.delete()
        if (ns) expect(await listNetns()).not.toContain(ns.name)
    })

    test("the ready line gives every device's address and MAC", () => {
        for (let i = 0; i < 3; i++) expect(ready).toContain(`${i + 1}: ${DEV[i]} (${MAC[i]})`)
        expect(ready).toContain("on one switch")
    })

    test("devices 2 and 3 reach device 1's echo through the switch (TCP, byte-exact)", async () => {
        for (const i of [2, 3]) {
            const line = await cli.waitFor(new RegExp(`segment check: device ${i} \\(`), 30000)
            expect(line).toMatch(/bytes echoed byte-exact/)
        }
        const out = cli.output()
        // Device to device, in the trace of both ends: ARP, then TCP to port 7 and back.
        expect(out).toMatch(/dev2 out 02:00:00:00:00:03 > ff:ff:ff:ff:ff:ff ARP who-has 10\.200\.0\.2 tell 10\.200\.0\.3/)
        expect(out).toMatch(/dev1 in  10\.200\.0\.3 > 10\.200\.0\.2 TCP \d+ > 7 \[S\]/)
        expect(out).toMatch(/dev3 in  10\.200\.0\.2 > 10\.200\.0\.4 TCP 7 > \d+ \[S\.\]/)
    })

    test("the host (the namespace's kernel) pings device 2 and gets 64 KiB echoed byte-exact by it", async () => {
        const ping = await ns.exec("ping", ["-c", "3", "-i", "0.2", "-W", "2", DEV[1]])
        expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/)
        const [r] = await runKernelClients(ns, { host: DEV[1], port: 7, count: 1, bytes: 64 * 1024, seed: 5, socketTimeoutS: 20, timeoutMs: 60000 })
        expect(r.error).toBeUndefined()
        expect(r.received).toBe(64 * 1024)
        expect(r.recvSha).toBe(r.sentSha)
        // It was device 2 that answered (its trace), not device 1.
        expect(cli.output()).toMatch(/dev2 out 10\.200\.0\.3 > 10\.200\.0\.1 TCP 7 > \d+ \[S\.\]/)
    }, 60000)

    test("SIGINT stops everything with exit 0", async () => {
        const { code } = await cli.stop("SIGINT")
        expect(code).toBe(0)
        expect(pidAlive(socatPid)).toBe(false)
    })
})
