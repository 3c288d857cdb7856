// The DHCP client against a real server: Debian's dnsmasq on the namespace side of a TAP
// (root). The device takes a lease, answers ping and echo at the leased address, and renews it by
// unicast at T1 (10 s, sent by dnsmasq; its shortest lease is 2 minutes).
import { afterAll, beforeAll, expect, test } from "vitest"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pidAlive } from "../sim/attach/process"
import { TapPort, startTap } from "../sim/attach/tap"
import { SimDevice, createSimDevice } from "../sim/device"
import { parsePcap } from "../sim/pcap"
import { DHCP_BOUND, DHCP_REBOOTING, DhcpClient } from "../src/dhcp/dhcp-client"
import { formatIpv4 } from "../src/wire/ipv4"
import { Netns, createNetns, listNetns } from "./helpers/netns"
import { NsProcess, sleep, spawnInNetns } from "./helpers/interop"
import { describeNeeds } from "./helpers/skip"

const NEEDS = { root: true, tun: true, tools: ["socat", "ip", "ping", "dnsmasq", "nc"] }

async function until(what: string, ms: number, cond: () => boolean): Promise<void> {
    const end = Date.now() + ms
    while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
        await sleep(50)
    }
}

describeNeeds("DHCP client against dnsmasq in a namespace", NEEDS, () => {
    let ns: Netns = null
    let tap: TapPort = null
    let device: SimDevice = null
    let dnsmasq: NsProcess = null
    let dir: string = null
    let dhcp: DhcpClient = null
    const events: string[] = []

    /** dnsmasq serving net.50-99 on the TAP (authoritative: it NAKs addresses of other networks). */
    function startDnsmasq(net: string, leases: string): NsProcess {
        // `ip netns exec` execs dnsmasq: the child's PID is dnsmasq's.
        return spawnInNetns(ns, [
            "exec dnsmasq --no-daemon --conf-file=/dev/null --log-facility=- --log-dhcp --dhcp-authoritative",
            `--interface=${tap.tapName} --bind-interfaces --port=0`,
            `--dhcp-range=${net}.50,${net}.99,255.255.255.0,2m`,
            "--dhcp-option=option:T1,10 --dhcp-option=option:T2,20",
            `--dhcp-leasefile=${join(dir, leases)} --pid-file=${join(dir, "pid")}`,
        ].join(" "))
    }

    beforeAll(async () => {
        ns = await createNetns()
        dir = mkdtempSync(join(tmpdir(), "enc-dhcp-"))
        tap = await startTap({ netns: ns.name, nsAddress: "10.200.0.1/24" })
        dnsmasq = startDnsmasq("10.200.0", "leases")
        // The stack runs its own client (config.dhcp); the static address is only the fallback.
        device = createSimDevice({ config: { dhcp: true }, pcap: join(dir, "dev.pcap") })
        dhcp = device.stack.dhcp
        dhcp.onAddress = (a) => events.push(`got ${formatIpv4(a)}`)
        device.attach(tap)
        await device.start()
    }, 20000)

    afterAll(async () => {
        if (device) await device.stop()
        const dnsmasqPid = dnsmasq?.child.pid
        if (dnsmasq) {
            dnsmasq.kill()
            await dnsmasq.exited
        }
        const tapPid = tap?.pid
        if (tap) await tap.close()
        if (ns) await ns.delete()
        if (dir) rmSync(dir, { recursive: true, force: true })
        if (dnsmasqPid) expect(pidAlive(dnsmasqPid)).toBe(false)
        if (tapPid) expect(pidAlive(tapPid)).toBe(false)
        if (ns) expect(await listNetns()).not.toContain(ns.name)
    })

    test("takes a lease, answers ping at the leased address, renews by unicast at T1", async () => {
        await until("a lease", 15000, () => dhcp.state === DHCP_BOUND)
        const ip = device.iface.ip
        const addr = formatIpv4(ip)
        expect(ip >>> 8).toBe(0x0ac800) // 10.200.0.x
        expect(ip & 0xff).toBeGreaterThanOrEqual(50)
        expect(ip & 0xff).toBeLessThanOrEqual(99)
        expect([device.iface.netmask, device.iface.gateway, dhcp.server]).toEqual([0xffffff00, 0x0ac80001, 0x0ac80001])
        expect(events).toEqual([`got ${addr}`])
        // T1 and expiry come from dnsmasq: 10 s and 120 s after the REQUEST.
        expect(Math.round(dhcp.expireAt - dhcp.t1At)).toBe(110000)
        const leases = readFileSync(join(dir, "leases"), "utf8")
        expect(leases).toContain(` 02:00:00:00:00:02 ${addr} `)

        const ping = await ns.exec("ping", ["-c", "3", "-i", "0.2", "-W", "2", addr])
        expect(ping.stdout).toMatch(/3 packets transmitted, 3 received/)
        // The echo server answers at the leased address too.
        const echo = await ns.exec("sh", ["-c", `printf 'leased hello\\n' | nc -N -w 5 ${addr} 7`])
        expect(echo.stdout).toBe("leased hello\n")

        const firstExpiry = dhcp.expireAt
        await until("a renewal", 15000, () => dhcp.leases >= 2)
        expect(dhcp.state).toBe(DHCP_BOUND)
        expect(device.iface.ip).toBe(ip)
        expect(dhcp.expireAt).toBeGreaterThan(firstExpiry + 5000)
        expect(events).toEqual([`got ${addr}`]) // same address: no second event

        // The capture: broadcast DISCOVER and REQUEST, then a unicast REQUEST from the address to the server.
        device.pcap.close()
        const reqs = parsePcap(readFileSync(join(dir, "dev.pcap"))).frames
            .map((f) => f.frame)
            .filter((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 17 && f.readUInt16BE(36) === 67)
            .map((f) => ({ src: f.readUInt32BE(26), dst: f.readUInt32BE(30), ciaddr: f.readUInt32BE(42 + 12), type: f[42 + 242] }))
        // One or more DISCOVERs (a retry when the first left before dnsmasq was listening),
        // then a broadcast REQUEST.
        const firstRequest = reqs.findIndex((r) => r.type === 3)
        expect(firstRequest).toBeGreaterThanOrEqual(1)
        for (const r of reqs.slice(0, firstRequest)) expect(r).toEqual({ src: 0, dst: 0xffffffff, ciaddr: 0, type: 1 })
        expect(reqs[firstRequest]).toEqual({ src: 0, dst: 0xffffffff, ciaddr: 0, type: 3 })
        expect(reqs).toContainEqual({ src: ip, dst: 0x0ac80001, ciaddr: ip, type: 3 })
        expect(dnsmasq.stderr()).toMatch(new RegExp(`DHCPACK\\(${tap.tapName}\\) ${addr.replace(/\./g, "\\.")}[^\\n]*\\n[^]*DHCPACK\\(${tap.tapName}\\) ${addr.replace(/\./g, "\\.")}`))
    }, 45000)

    test("cable out and back in: INIT-REBOOT (dnsmasq ACKs the same address); moved to another network: NAK, a new lease", async () => {
        await until("a lease", 15000, () => dhcp.state === DHCP_BOUND)
        const ip = device.iface.ip
        const addr = formatIpv4(ip)
        // The state the client was in when each reply came (renewals at T1 come too: BOUND/RENEWING).
        const replyStates: number[] = []
        const input = dhcp.udpInput.bind(dhcp)
        dhcp.udpInput = (...a: Parameters<DhcpClient["udpInput"]>) => {
            replyStates.push(dhcp.state)
            input(...a)
        }
        const replug = async () => {
            device.chip.setLink(false)
            await sleep(1500) // the stack looks every second
            device.chip.setLink(true)
        }
        await replug()
        await until("a REBOOTING reply", 10000, () => replyStates.includes(DHCP_REBOOTING))
        await until("bound again", 5000, () => dhcp.state === DHCP_BOUND)
        expect(device.iface.ip).toBe(ip)
        expect(events).toEqual([`got ${addr}`])
        const ping = await ns.exec("ping", ["-c", "2", "-i", "0.2", "-W", "2", addr])
        expect(ping.stdout).toMatch(/2 packets transmitted, 2 received/)

        // Another network: the same TAP now carries 10.201.0.0/24 with its own server.
        dnsmasq.kill()
        await dnsmasq.exited
        await ns.exec("ip", ["addr", "flush", "dev", tap.tapName])
        await ns.exec("ip", ["addr", "add", "10.201.0.1/24", "dev", tap.tapName])
        dnsmasq = startDnsmasq("10.201.0", "leases2")
        await sleep(500) // dnsmasq listening
        replyStates.length = 0
        await replug()
        await until("a new lease", 30000, () => dhcp.state === DHCP_BOUND && device.iface.ip >>> 8 === 0x0ac900)
        expect(replyStates[0]).toBe(DHCP_REBOOTING) // the NAK
        const addr2 = formatIpv4(device.iface.ip)
        expect(events).toEqual([`got ${addr}`, "got 0.0.0.0", `got ${addr2}`])
        expect(dnsmasq.stderr()).toMatch(/DHCPNAK\([^)]*\) [0-9.]+ 02:00:00:00:00:02 wrong network/)
        const ping2 = await ns.exec("ping", ["-c", "2", "-i", "0.2", "-W", "2", addr2])
        expect(ping2.stdout).toMatch(/2 packets transmitted, 2 received/)
    }, 60000)
})