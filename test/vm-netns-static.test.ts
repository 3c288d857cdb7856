// The firmware in the DeviceScript VM with a static address from device settings (IP, NETMASK,
// GATEWAY): `npm run sim -- --vm --netns NS` with test/devs/static-settings.ts as the entry, a
// program that writes the settings (as a deployed .env would) and starts the unchanged
// firmware. There is no DHCP server in the namespace: the firmware must not wait for one, and
// must answer ping, echo and the status page (which says "static") at the address it was given.
import { afterAll, expect, test } from "vitest"
import { pidAlive } from "../sim/attach/process"
import { Netns, createNetns, listNetns } from "./helpers/netns"
import { CliRun, startCli } from "./helpers/sim-cli"
import { describeNeeds } from "./helpers/skip"

const NEEDS = { root: true, tun: true, tools: ["socat", "ip", "ping", "nc"] }
const IP = "10.0.2.77"

describeNeeds("firmware in the VM takes its static address from device settings", NEEDS, () => {
    let ns: Netns = null
    let cli: CliRun = null

    afterAll(async () => {
        const cliPid = cli?.child.pid
        if (cli) await cli.stop("SIGINT")
        if (ns) await ns.delete()
        if (cliPid) expect(pidAlive(cliPid)).toBe(false)
        if (ns) expect(await listNetns()).not.toContain(ns.name)
    })

    test("settings IP/NETMASK/GATEWAY: static address at once; ping, echo and status there", async () => {
        ns = await createNetns()
        cli = startCli(["--vm", "--netns", ns.name], { ...process.env, ENC28J60_VM_ENTRY: "test/devs/static-settings.ts" })
        const ready = await cli.ready(90000)
        expect(ready).toContain(`${IP} via TAP`)
        // The firmware printed it (the status page below shows it is static, not the DHCP fallback).
        expect(cli.output()).toMatch(new RegExp(`vm: WASM> address ${IP.replace(/\./g, "\\.")}: try`))

        const ping = await ns.exec("ping", ["-c", "3", "-i", "0.3", "-W", "3", IP])
        expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/)
        const echo = await ns.exec("sh", ["-c", `printf 'static\\n' | nc -N -w 10 ${IP} 7`])
        expect(echo.stdout).toBe("static\n")
        const page = await ns.exec("sh", ["-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -N -w 10 ${IP} 80`])
        expect(page.stdout).toMatch(/^HTTP\/1\.0 200 OK/)
        expect(page.stdout).toMatch(/ip 10\.0\.2\.77 mask 255\.255\.255\.0 gw 10\.0\.2\.2 mac [0-9a-f:]{17} static\n/)
        expect(cli.output()).not.toMatch(/PANIC|InfiniteLoop|OutOfMemory/)
    }, 150000)
})
