// The simulated device on a TAP in a network namespace (root): the namespace's kernel pings
// and arpings it. First through the CLI as a child process (`sim/cli.ts --netns`), then
// in-process through createSimDevice, with the capture checked against what was exchanged.
import { afterAll, beforeAll, expect, test } from "vitest"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pidAlive } from "../sim/attach/process"
import { TapPort, startTap } from "../sim/attach/tap"
import { SimDevice, createSimDevice } from "../sim/device"
import { parsePcap } from "../sim/pcap"
import { Netns, createNetns, listNetns } from "./helpers/netns"
import { CliRun, startCli } from "./helpers/sim-cli"
import { describeNeeds } from "./helpers/skip"

const NEEDS = { root: true, tun: true, tools: ["socat", "ip", "ping", "arping"] }
const DEVICE_IP = "10.200.0.2"
const DEVICE_MAC = "02:00:00:00:00:02"

function pingReplies(out: string): number {
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out)
    if (!m) throw new Error(`unexpected ping output:\n${out}`)
    return Number(m[2])
}

/** Replies counted by arping: iputils-arping ("Received 3 response(s)") or Habets' arping ("3 packets received"). */
function arpingReplies(out: string): number {
    const m = /Received (\d+) response/.exec(out) ?? /(\d+) packets received/.exec(out)
    if (!m) throw new Error(`unexpected arping output:\n${out}`)
    return Number(m[1])
}

describeNeeds("device on a TAP, driven by the CLI (sim/cli.ts --netns)", NEEDS, () => {
    let ns: Netns = null
    let cli: CliRun = null
    let dir: string = null
    let tapName: string = null
    let socatPid = 0

    beforeAll(async () => {
        ns = await createNetns()
        dir = mkdtempSync(join(tmpdir(), "enc-netns-cli-"))
        cli = startCli(["--netns", ns.name, "--pcap", join(dir, "cli.pcap"), "--trace"])
        const line = await cli.ready()
        tapName = /TAP (\S+)/.exec(line)[1]
        socatPid = Number(/socat pid (\d+)/.exec(line)[1])
        expect(line).toContain(DEVICE_IP)
    })

    afterAll(async () => {
        if (cli) await cli.stop("SIGINT")
        if (socatPid && pidAlive(socatPid)) process.kill(socatPid, "SIGKILL")
        if (ns) await ns.delete()
        if (dir) rmSync(dir, { recursive: true, force: true })
    })

    test("20 pings at 0.2 s get 20 replies", async () => {
        const r = await ns.exec("ping", ["-c", "20", "-i", "0.2", "-W", "2", DEVICE_IP])
        expect(pingReplies(r.stdout)).toBe(20)
    })

    test("arping gets replies from the device's MAC", async () => {
        const r = await ns.exec("arping", ["-c", "3", "-I", tapName, DEVICE_IP])
        expect(arpingReplies(r.stdout)).toBe(3)
        expect(r.stdout.toLowerCase()).toContain(DEVICE_MAC)
    })

    test("the namespace's neighbour table holds the device's MAC", async () => {
        const r = await ns.exec("ip", ["neigh", "show", DEVICE_IP, "dev", tapName])
        expect(r.stdout.toLowerCase()).toContain(`lladdr ${DEVICE_MAC}`)
    })

    test("SIGINT stops the CLI with exit 0, kills socat, removes the TAP", async () => {
        const { code } = await cli.stop("SIGINT")
        expect(code).toBe(0)
        expect(cli.output()).toMatch(/out 10\.200\.0\.2 > 10\.200\.0\.1 ICMP echo reply/)
        expect(pidAlive(socatPid)).toBe(false)
        expect((await ns.exec("ip", ["link", "show", tapName])).code).not.toBe(0)
        // The capture holds both directions: echo requests in, echo replies out.
        const frames = parsePcap(readFileSync(join(dir, "cli.pcap"))).frames.map((f) => f.frame)
        const icmp = (type: number) => frames.filter((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 1 && f[34] === type).length
        expect(icmp(8)).toBeGreaterThanOrEqual(20)
        expect(icmp(0)).toBeGreaterThanOrEqual(20)
        // Nothing left: namespace gone once deleted.
        await ns.delete()
        expect(await listNetns()).not.toContain(ns.name)
        ns = null
    })
})

describeNeeds("device on a TAP, in-process (createSimDevice + startTap)", NEEDS, () => {
    let ns: Netns = null
    let tap: TapPort = null
    let device: SimDevice = null
    let dir: string = null

    beforeAll(async () => {
        ns = await createNetns()
        dir = mkdtempSync(join(tmpdir(), "enc-netns-dev-"))
        tap = await startTap({ netns: ns.name })
        device = createSimDevice({ config: { ip: DEVICE_IP, gateway: "10.200.0.1" }, pcap: join(dir, "dev.pcap") })
        device.attach(tap)
        await device.start()
    })

    afterAll(async () => {
        if (device) await device.stop()
        const pid = tap?.pid
        if (tap) await tap.close()
        if (ns) await ns.delete()
        if (dir) rmSync(dir, { recursive: true, force: true })
        if (pid) expect(pidAlive(pid)).toBe(false)
        if (ns) expect(await listNetns()).not.toContain(ns.name)
    })

    test("pings with a large payload come back intact, and the capture matches the link", async () => {
        const r = await ns.exec("ping", ["-c", "5", "-i", "0.2", "-s", "1400", "-p", "a5", "-W", "2", DEVICE_IP])
        expect(pingReplies(r.stdout)).toBe(5)
        expect(r.stdout).not.toMatch(/wrong data/)
        device.pcap.close()
        const frames = parsePcap(readFileSync(join(dir, "dev.pcap"))).frames
        expect(frames.length).toBe(device.link.carried[0] + device.link.carried[1])
        const replies = frames.filter((f) => f.frame.readUInt16BE(12) === 0x0800 && f.frame[34] === 0)
        expect(replies.length).toBe(5)
        for (const f of replies) expect(f.frame.length).toBe(14 + 20 + 8 + 1400)
        expect(existsSync(`/sys/class/net/${tap.tapName}`)).toBe(false)
    })
})
