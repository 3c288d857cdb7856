// The simulated device's cable into a Linux network namespace (root only): socat opens a TAP
// device and relays each Ethernet frame as one UDP datagram on host loopback; the TAP is then
// moved into a namespace the caller created, where the kernel's own stack is the peer
// (ping, arping, nc, curl against the device). See ../../../shared/reference/peers.md.

import { ChildProcess, spawn } from "node:child_process"
import { Socket as UdpSocket, createSocket } from "node:dgram"
import { existsSync } from "node:fs"
import { FrameHandler, FramePort } from "../wire/frame-port"
import { exitOf, requireTool, run, stopChild, waitUntil } from "./process"

export interface TapOptions {
    /** An existing network namespace to put the TAP in. */
    netns: string
    /** Interface name (≤ 15 characters); default enc<pid>t<n>. */
    tapName?: string
    /** Address of the namespace side, with prefix length. */
    nsAddress?: string
    /** Turn IPv6 off on the TAP so the kernel's router solicitations etc. stay off the wire. */
    disableIpv6?: boolean
    /** PATH used to find socat and ip. */
    pathEnv?: string
}

export const TAP_DEFAULTS = { nsAddress: "10.200.0.1/24", disableIpv6: true }

let tapCount = 0

/** A TAP name unique to this process (Linux allows 15 characters). */
export function uniqueTapName(): string {
    return `enc${process.pid}t${++tapCount}`
}

export class TapPort implements FramePort {
    private handler: FrameHandler = null
    private closed = false
    /** Datagrams from anyone but our socat (dropped). */
    strangers = 0

    constructor(
        private readonly socat: ChildProcess,
        private readonly udp: UdpSocket,
        private readonly socatPort: number,
        private readonly ip: string,
        readonly tapName: string,
        readonly netns: string,
    ) {
        udp.on("message", (msg, rinfo) => {
            if (rinfo.address !== "127.0.0.1" || rinfo.port !== socatPort) {
                this.strangers++
                return
            }
            if (!this.closed && this.handler) this.handler(msg)
        })
    }

    get pid(): number {
        return this.socat.pid
    }

    send(frame: Buffer): void {
        if (this.closed) return
        this.udp.send(frame, this.socatPort, "127.0.0.1")
    }

    onFrame(handler: FrameHandler): void {
        this.handler = handler
    }

    /** Stops socat by its PID; the TAP (not persistent) disappears with it. */
    async close(): Promise<void> {
        if (this.closed) return
        this.closed = true
        this.udp.close()
        await stopChild(this.socat)
        await waitUntil(async () => !(await tapExists(this.ip, this.netns, this.tapName)), 3000, `TAP ${this.tapName} to disappear`)
    }
}

async function tapExists(ip: string, netns: string, tapName: string): Promise<boolean> {
    try {
        await run(ip, ["-n", netns, "link", "show", tapName])
        return true
    } catch {
        return false
    }
}

/** Starts socat with a TAP, moves the TAP into opts.netns, addresses it and brings it up. */
export async function startTap(opts: TapOptions): Promise<TapPort> {
    const socatBin = requireTool("socat", "socat", opts.pathEnv)
    const ip = requireTool("ip", "iproute2", opts.pathEnv)
    const o = { ...TAP_DEFAULTS, ...opts }
    const tapName = o.tapName ?? uniqueTapName()
    const udp = await bindUdp(0)
    const simPort = udp.address().port
    // socat must bind a port we know before it sends; ask the kernel for a free one.
    const socatPort = await freeUdpPort()
    let socat: ChildProcess = null
    try {
        const args = ["-b", "65536", `TUN,tun-type=tap,iff-no-pi,tun-name=${tapName}`, `UDP-DATAGRAM:127.0.0.1:${simPort},bind=127.0.0.1:${socatPort}`]
        // Own session, like passt: a terminal's Ctrl-C reaches only us; we stop socat by its PID.
        socat = spawn(socatBin, args, { stdio: ["ignore", "ignore", "pipe"], detached: true })
        let stderr = ""
        socat.stderr.on("data", (d) => (stderr += d))
        let exitCode: number | null | undefined = undefined
        let spawnError: Error = null
        socat.once("error", (e) => (spawnError = e))
        exitOf(socat).then((c) => (exitCode = c))
        // The TAP appears in this namespace once socat has opened it; only then can it move.
        await waitUntil(() => existsSync(`/sys/class/net/${tapName}`) || exitCode !== undefined || spawnError !== null, 5000, `TAP ${tapName}`)
        if (spawnError) throw spawnError
        if (exitCode !== undefined) throw new Error(`socat exited (code ${exitCode}): ${stderr.trim()}`)
        await run(ip, ["link", "set", tapName, "netns", o.netns])
        if (o.disableIpv6) await run(ip, ["netns", "exec", o.netns, "sysctl", "-qw", `net.ipv6.conf.${tapName}.disable_ipv6=1`])
        await run(ip, ["-n", o.netns, "addr", "add", o.nsAddress, "dev", tapName])
        await run(ip, ["-n", o.netns, "link", "set", tapName, "up"])
        return new TapPort(socat, udp, socatPort, ip, tapName, o.netns)
    } catch (e) {
        udp.close()
        if (socat) await stopChild(socat)
        throw e
    }
}

function bindUdp(port: number): Promise<UdpSocket> {
    return new Promise((resolve, reject) => {
        const s = createSocket("udp4")
        s.once("error", reject)
        s.bind(port, "127.0.0.1", () => {
            s.removeListener("error", reject)
            resolve(s)
        })
    })
}

async function freeUdpPort(): Promise<number> {
    const s = await bindUdp(0)
    const port = s.address().port
    await new Promise<void>((r) => s.close(() => r()))
    return port
}
