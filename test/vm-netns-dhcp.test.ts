// `npm run sim -- --vm --netns NS` with Debian's dnsmasq in the namespace (root): the compiled
// firmware, running in the DeviceScript VM with its SPI bridged to the chip model, takes a
// lease, answers ping and echo at the leased address, and renews the lease at T1. It runs with
// device settings IP=10.0.2.77 and DHCP=1 (test/devs/dhcp-settings.ts): the settings address is
// then only DHCP's fallback, so the lease must win. (test/vm-sim.test.ts runs the firmware with
// no settings; test/vm-netns-static.test.ts with a static address.)
import { afterAll, expect, test } from "vitest"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pidAlive } from "../sim/attach/process"
import { Netns, createNetns, listNetns } from "./helpers/netns"
import { NsProcess, sleep, spawnInNetns } from "./helpers/interop"
import { CliRun, startCli } from "./helpers/sim-cli"
import { describeNeeds } from "./helpers/skip"

const NEEDS = { root: true, tun: true, tools: ["socat", "ip", "ping", "nc", "dnsmasq"] }

async function until<T>(what: string, ms: number, probe: () => T | Promise<T>): Promise<T> {
    const end = Date.now() + ms
    for (;;) {
        const v = await probe()
        if (v) return v
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
        await sleep(100)
    }
}

describeNeeds("firmware in the VM takes a DHCP lease in a namespace", NEEDS, () => {
    let ns: Netns = null
    let cli: CliRun = null
    let dnsmasq: NsProcess = null
    let dir: string = null

    afterAll(async () => {
        const cliPid = cli?.child.pid
        if (cli) await cli.stop("SIGINT")
        const dnsmasqPid = dnsmasq?.child.pid
        if (dnsmasq) {
            dnsmasq.kill()
            await dnsmasq.exited
        }
        if (ns) await ns.delete()
        if (dir) rmSync(dir, { recursive: true, force: true })
        if (cliPid) expect(pidAlive(cliPid)).toBe(false)
        if (dnsmasqPid) expect(pidAlive(dnsmasqPid)).toBe(false)
        if (ns) expect(await listNetns()).not.toContain(ns.name)
    })

    test("lease, ping and echo at the leased address, renewal", async () => {
        ns = await createNetns()
        dir = mkdtempSync(join(tmpdir(), "enc-vm-dhcp-"))
        cli = startCli(["--vm", "--netns", ns.name], { ...process.env, ENC28J60_VM_ENTRY: "test/devs/dhcp-settings.ts" })
        // The CLI puts its TAP in the namespace (10.0.2.2/24, the firmware's static gateway)
        // before the firmware starts; dnsmasq then serves on it. A DISCOVER sent before
        // dnsmasq is up is retried (RFC 2131 back-off).
        const tapName = await until("the TAP in the namespace", 20000, async () => {
            const r = await ns.exec("ip", ["-o", "link", "show"])
            const m = /^\d+: ([^:@]+)[:@]/m.exec(r.stdout.split("\n").filter((l) => !/: lo:/.test(l)).join("\n"))
            return m ? m[1] : ""
        })
        dnsmasq = spawnInNetns(ns, [
            "exec dnsmasq --no-daemon --conf-file=/dev/null --log-facility=- --log-dhcp",
            `--interface=${tapName} --bind-interfaces --port=0`,
            "--dhcp-range=10.0.2.50,10.0.2.99,255.255.255.0,2m",
            "--dhcp-option=option:T1,10 --dhcp-option=option:T2,20",
            `--dhcp-leasefile=${join(dir, "leases")} --pid-file=${join(dir, "pid")}`,
        ].join(" "))

        const ready = await cli.ready(90000)
        const addr = /(10\.0\.2\.(\d+)) via TAP/.exec(ready)
        expect(addr).not.toBeNull()
        const ip = addr[1]
        expect(+addr[2]).toBeGreaterThanOrEqual(50)
        expect(+addr[2]).toBeLessThanOrEqual(99)
        expect(readFileSync(join(dir, "leases"), "utf8")).toContain(` ${ip} `)
        // The lease, not the settings address (DHCP=1 makes that the fallback only).
        expect(cli.output()).toMatch(new RegExp(`vm: WASM> address ${ip.replace(/\./g, "\\.")}: try`))
        expect(cli.output()).not.toMatch(/address 10\.0\.2\.77/)

        const ping = await ns.exec("ping", ["-c", "3", "-i", "0.3", "-W", "3", ip])
        expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/)
        const echo = await ns.exec("sh", ["-c", `printf 'vm lease\\n' | nc -N -w 10 ${ip} 7`])
        expect(echo.stdout).toBe("vm lease\n")

        // T1 is 10 s: the firmware renews by unicast and dnsmasq acknowledges a second time.
        const acks = (): number => (dnsmasq.stderr().match(new RegExp(`DHCPACK\\(${tapName}\\) ${ip.replace(/\./g, "\\.")}`, "g")) ?? []).length
        await until("the renewal", 30000, () => acks() >= 2)
        expect(cli.output()).not.toMatch(/PANIC|InfiniteLoop|OutOfMemory/)
    }, 150000)
})
