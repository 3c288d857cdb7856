// The TAP attachment on its own (root): the test answers ARP itself, so this needs nothing
// but socat and iproute2 — the kernel in a namespace the test creates is the peer.
import { afterAll, beforeAll, expect, test } from "vitest"
import { existsSync } from "node:fs"
import { pidAlive } from "../sim/attach/process"
import { TapPort, startTap } from "../sim/attach/tap"
import { describeNeeds } from "./helpers/skip"
import { Netns, createNetns, listNetns } from "./helpers/netns"

const DEVICE_MAC = Buffer.from("020000000002", "hex")
const DEVICE_IP = [10, 200, 0, 2]

function isArpRequestFor(f: Buffer, ip: number[]): boolean {
    return f.length >= 42 && f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 1 && f.subarray(38, 42).equals(Buffer.from(ip))
}

/** Our ARP reply to a request: we are DEVICE_IP at DEVICE_MAC. */
function arpReply(req: Buffer): Buffer {
    const r = Buffer.alloc(60)
    req.copy(r, 0, 6, 12) // to the asker
    DEVICE_MAC.copy(r, 6)
    r.writeUInt16BE(0x0806, 12)
    req.copy(r, 14, 14, 20)
    r.writeUInt16BE(2, 20)
    DEVICE_MAC.copy(r, 22)
    Buffer.from(DEVICE_IP).copy(r, 28)
    req.copy(r, 32, 22, 32) // target = the asker's MAC and IP
    return r
}

describeNeeds("TAP attachment in a network namespace", { root: true, tun: true, tools: ["socat", "ip", "ping"] }, () => {
    let ns: Netns = null
    let tap: TapPort = null
    const frames: Buffer[] = []

    beforeAll(async () => {
        ns = await createNetns()
        tap = await startTap({ netns: ns.name })
        tap.onFrame((f) => {
            frames.push(f)
            if (isArpRequestFor(f, DEVICE_IP)) tap.send(arpReply(f))
        })
    })

    afterAll(async () => {
        const pid = tap?.pid
        if (tap) await tap.close()
        if (ns) await ns.delete()
        if (pid) expect(pidAlive(pid)).toBe(false)
        if (ns) expect(await listNetns()).not.toContain(ns.name)
    })

    test("the TAP sits in the namespace with 10.200.0.1/24, up, IPv6 off", async () => {
        const r = await ns.exec("ip", ["-o", "addr", "show", "dev", tap.tapName])
        expect(r.stdout).toMatch(/inet 10\.200\.0\.1\/24/)
        expect(r.stdout).not.toMatch(/inet6/)
        expect(existsSync(`/sys/class/net/${tap.tapName}`)).toBe(false) // moved out of ours
    })

    test("the kernel's ARP and ping frames arrive one per datagram, and our reply is learned", async () => {
        // No one answers ICMP, so ping fails; what matters is what crossed the TAP.
        await ns.exec("ping", ["-c", "2", "-i", "0.2", "-W", "1", "10.200.0.2"])
        expect(frames.some((f) => isArpRequestFor(f, DEVICE_IP))).toBe(true)
        const echo = frames.find((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 1 && f[34] === 8)
        expect(echo).toBeDefined()
        expect(echo.subarray(0, 6).equals(DEVICE_MAC)).toBe(true) // sent to the MAC we answered with
        expect(echo.length).toBe(14 + 84) // whole frame in one datagram: 20 IP + 8 ICMP + 56 data
        const neigh = await ns.exec("ip", ["neigh", "show", "10.200.0.2"])
        expect(neigh.stdout).toMatch(/02:00:00:00:00:02/)
    })

    test("close() kills socat and the TAP disappears", async () => {
        const pid = tap.pid
        await tap.close()
        expect(pidAlive(pid)).toBe(false)
        const r = await ns.exec("ip", ["link", "show", tap.tapName])
        expect(r.code).not.toBe(0)
        tap = null
    })
})
