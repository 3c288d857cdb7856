// The simulated device's cable into passt (Debian package `passt`): a user-mode network that
// needs no root. passt answers ARP for every address but the guest's, NATs the guest's
// connections to host sockets, and forwards host TCP/UDP ports on loopback to the guest.
// See ../../../shared/reference/peers.md for the flags and quirks this relies on.

import { ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { Socket, createConnection } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FrameHandler, FramePort } from "../wire/frame-port"
import { FrameStreamDecoder, encodeStreamFrame } from "./frame-stream"
import { exitOf, requireTool, stopChild, waitUntil } from "./process"

/** A port forward from host loopback to the guest. */
export interface PortForward {
    hostPort: number
    guestPort: number
}

export interface PasstOptions {
    /** TCP forwards 127.0.0.1:hostPort → guest:guestPort (passt -t). */
    tcp?: PortForward[]
    /** UDP forwards (passt -u). */
    udp?: PortForward[]
    /** Address passt expects the guest to use, its prefix length and gateway. */
    guestIp?: string
    prefixLength?: number
    gateway?: string
    /** passt's own MAC (-M: the source MAC of what passt sends to the guest; not the guest's). */
    passtMac?: string
    /** MTU announced by DHCP (passt's default is 65520). */
    mtu?: number
    /** passt's own capture of what it exchanges with the guest (-p). */
    pcap?: string
    /** PATH used to find passt (default: this process's). */
    pathEnv?: string
    /** How long to wait for passt's socket. */
    startTimeoutMs?: number
}

export const PASST_DEFAULTS = {
    guestIp: "10.0.2.15",
    prefixLength: 24,
    gateway: "10.0.2.2",
    passtMac: "02:00:00:00:00:01",
    mtu: 1500,
}

/** Builds passt's command line (exported for tests and for printing). */
export function passtArgs(dir: string, opts: PasstOptions): string[] {
    const o = { ...PASST_DEFAULTS, ...opts }
    const args = ["-f", "-1", "-4", "-l", join(dir, "passt.log"), "-s", join(dir, "passt.socket"), "-P", join(dir, "passt.pid")]
    // As root passt drops to "nobody", which then cannot open its pid/pcap files in our
    // private temp dir; stay the invoking user instead.
    if (process.getuid?.() === 0) args.push("--runas", "0:0")
    // 127.0.0.1/HOST:GUEST keeps the listening socket on loopback only.
    for (const f of o.tcp ?? []) args.push("-t", `127.0.0.1/${f.hostPort}:${f.guestPort}`)
    for (const f of o.udp ?? []) args.push("-u", `127.0.0.1/${f.hostPort}:${f.guestPort}`)
    args.push("-a", o.guestIp, "-n", String(o.prefixLength), "-g", o.gateway, "-M", o.passtMac)
    args.push("-m", String(o.mtu), "-D", "none", "-S", "none")
    if (o.pcap) args.push("-p", o.pcap)
    return args
}

export class PasstPort implements FramePort {
    private handler: FrameHandler = null
    private closed = false
    private readonly decoder: FrameStreamDecoder
    /** Resolves with passt's exit code once it has exited. */
    readonly exited: Promise<number | null>

    constructor(
        private readonly child: ChildProcess,
        private readonly socket: Socket,
        /** Private temp dir holding passt's socket, log and pid file; removed on close. */
        readonly dir: string,
    ) {
        this.exited = exitOf(child)
        this.decoder = new FrameStreamDecoder((frame) => {
            if (!this.closed && this.handler) this.handler(frame)
        })
        socket.on("data", (chunk: Buffer) => {
            this.decoder.push(chunk)
            // A desynchronised stream cannot be repaired: hang up (passt -1 then exits).
            if (this.decoder.error !== null) socket.destroy()
        })
        socket.on("error", () => {
            // passt went away; close() or exited tells the owner.
        })
    }

    get pid(): number {
        return this.child.pid
    }

    /** passt's log so far (for error messages). */
    log(): string {
        return readLog(this.dir)
    }

    send(frame: Buffer): void {
        if (this.closed || this.socket.destroyed) return
        this.socket.write(encodeStreamFrame(frame))
    }

    onFrame(handler: FrameHandler): void {
        this.handler = handler
    }

    /** Hangs up, stops passt by its PID, removes the temp dir (and the socket file in it). */
    async close(): Promise<void> {
        if (this.closed) return
        this.closed = true
        this.socket.destroy()
        await stopChild(this.child)
        rmSync(this.dir, { recursive: true, force: true })
    }
}

function readLog(dir: string): string {
    try {
        return readFileSync(join(dir, "passt.log"), "utf8")
    } catch {
        return ""
    }
}

/**
 * Starts passt in a private temp dir and connects to it as its guest.
 * Throws MissingToolError (with the apt-get hint) when passt is not on PATH.
 */
export async function startPasst(opts: PasstOptions = {}): Promise<PasstPort> {
    const passt = requireTool("passt", "passt", opts.pathEnv)
    const dir = mkdtempSync(join(tmpdir(), "enc28j60-passt-"))
    const socketPath = join(dir, "passt.socket")
    let child: ChildProcess = null
    try {
        // stdout/stderr only carry syslog noise before -l takes over; the log file has the rest.
        // Own session: no controlling terminal for passt to print on, and a terminal's Ctrl-C
        // reaches only us; we stop passt by its PID.
        child = spawn(passt, passtArgs(dir, opts), { stdio: "ignore", detached: true })
        let exitCode: number | null | undefined = undefined
        let spawnError: Error = null
        child.once("error", (e) => (spawnError = e))
        exitOf(child).then((c) => (exitCode = c))
        await waitUntil(() => existsSync(socketPath) || exitCode !== undefined || spawnError !== null, opts.startTimeoutMs ?? 5000, "passt's socket")
        if (spawnError) throw spawnError
        if (exitCode !== undefined) throw new Error(`passt exited (code ${exitCode}) before it was ready: ${lastLines(readLog(dir))}`)
        const socket = await connectUnix(socketPath)
        return new PasstPort(child, socket, dir)
    } catch (e) {
        if (child) await stopChild(child)
        rmSync(dir, { recursive: true, force: true })
        throw e
    }
}

function connectUnix(path: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
        const s = createConnection(path)
        s.once("connect", () => {
            s.removeListener("error", reject)
            resolve(s)
        })
        s.once("error", reject)
    })
}

function lastLines(text: string): string {
    const lines = text.trim().split("\n")
    return lines.slice(-3).join(" | ") || "(no log)"
}
