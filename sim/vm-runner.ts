// The compiled firmware in the DeviceScript VM, on the simulated ENC28J60.
//
// `devs run src/main.ts --test` compiles the firmware (the same bytecode `devs build` makes)
// and runs it in the WASM VM bundled with the CLI, as a child process. There is no SPI in
// the VM, so main.ts falls back to BridgeSpiBus, which dials 127.0.0.1:BRIDGE_PORT; the
// preload (vm-preload.cjs) redirects that to our VmBridge, which plays the bus to the chip
// model here. The chip's jack is a FramePort, attached to passt or a TAP as in device.ts.
//
// --test mode is the CLI's only headless mode (plain `run` needs a devtools server on a fixed
// port); it also turns on GC stress (a full collection at every allocation) and ends the
// process at the first panic, which is what the tests want to see.

import { ChildProcess, spawn, spawnSync } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { RealClock } from "./clock"
import { exitOf, stopChild } from "./attach/process"
import { Enc28j60Chip } from "./enc28j60/chip"
import { PcapWriter, wallClockUs } from "./pcap"
import { ChipPort } from "./wire/chip-port"
import { FramePort } from "./wire/frame-port"
import { PointToPointLink } from "./wire/link"
import { VmBridge } from "./vm-bridge"

/** src/hw/bridge-spi-bus.ts BRIDGE_PORT (that file only compiles for DeviceScript). */
export const FIRMWARE_BRIDGE_PORT = 47260

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const CLI = fileURLToPath(new URL("../node_modules/@devicescript/cli/built/devicescript-cli.cjs", import.meta.url))
const PRELOAD = fileURLToPath(new URL("./vm-preload.cjs", import.meta.url))
/** setTimeout's largest delay: the --test timeout, i.e. none. */
const NO_TIMEOUT_MS = 2147483647

/** Lines kept for a waitForLine() that comes after them. */
const BACKLOG_LINES = 200

/** VM output that means the firmware died. */
const FATAL = /PANIC|InfiniteLoop|OutOfMemory|Unhandled exception|test failed|Error:/

export interface VmFirmwareOptions {
    /** Where the host bridge listens. */
    bridgePort: number
    /** Firmware entry or a compiled .devs image (default $ENC28J60_VM_ENTRY, else src/main.ts). */
    entry?: string
    /** Every line the VM prints (ANSI colours removed, "WASM> " prefix kept). */
    onLine?: (line: string) => void
}

export class VmFirmware {
    /** Lines that look like a panic or an uncaught error. */
    readonly fatal: string[] = []
    readonly exited: Promise<number | null>
    private readonly waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = []
    /**
     * Lines since the last one a waiter took (at most BACKLOG_LINES): the VM often prints the
     * next awaited line in the same chunk as the one just awaited (e.g. a static address right
     * after "up"), before the awaiting code runs again.
     */
    private backlog: string[] = []

    constructor(readonly child: ChildProcess) {
        this.exited = exitOf(child)
    }

    get pid(): number {
        return this.child.pid
    }

    line(text: string): void {
        if (FATAL.test(text)) this.fatal.push(text)
        let taken = false
        for (let i = 0; i < this.waiters.length; ) {
            const w = this.waiters[i]
            if (w.re.test(text)) {
                this.waiters.splice(i, 1)
                w.resolve(text)
                taken = true
            } else i++
        }
        if (taken) this.backlog = []
        else if (this.backlog.push(text) > BACKLOG_LINES) this.backlog.shift()
    }

    /**
     * Resolves with the first line matching re printed after the line the previous wait took
     * (or since the start); rejects if the VM exits first or on timeout.
     */
    waitForLine(re: RegExp, timeoutMs: number): Promise<string> {
        const i = this.backlog.findIndex((l) => re.test(l))
        if (i >= 0) {
            const line = this.backlog[i]
            this.backlog = this.backlog.slice(i + 1)
            return Promise.resolve(line)
        }
        return new Promise((resolve, reject) => {
            const w = { re, resolve: (l: string) => (clearTimeout(t), resolve(l)) }
            const t = setTimeout(() => {
                this.waiters.splice(this.waiters.indexOf(w), 1)
                reject(new Error(`VM: no line matching ${re} within ${timeoutMs} ms${this.fatalNote()}`))
            }, timeoutMs)
            this.waiters.push(w)
            this.exited.then((code) => {
                if (this.waiters.includes(w)) {
                    clearTimeout(t)
                    this.waiters.splice(this.waiters.indexOf(w), 1)
                    reject(new Error(`VM exited (code ${code}) before a line matching ${re}${this.fatalNote()}`))
                }
            })
        })
    }

    private fatalNote(): string {
        return this.fatal.length > 0 ? `: ${this.fatal.slice(0, 3).join(" | ")}` : ""
    }

    stop(): Promise<void> {
        return stopChild(this.child)
    }
}

/**
 * Compiles a firmware entry to a private copy of its bytecode. Every `devs build` writes the
 * one .devicescript/bin of the repository, so builds from parallel test files or simulators
 * take turns (a lock directory) and each run gets its own image file.
 */
export function compileFirmware(entry: string): string {
    if (entry.endsWith(".devs")) return entry
    const lock = join(ROOT, ".devicescript", "build.lock")
    mkdirSync(join(ROOT, ".devicescript"), { recursive: true })
    const deadline = Date.now() + 120000
    for (;;) {
        try {
            mkdirSync(lock)
            break
        } catch {
            if (Date.now() > deadline) throw new Error(`vm: ${lock} held for 2 minutes; remove it if no build is running`)
            spawnSync("sleep", ["0.1"])
        }
    }
    try {
        const r = spawnSync(process.execPath, [CLI, "build", entry], { cwd: ROOT, encoding: "utf8" })
        if (r.status !== 0) throw new Error(`vm: devs build ${entry} failed:\n${r.stdout}${r.stderr}`)
        const image = join(mkdtempSync(join(tmpdir(), "enc-fw-")), "firmware.devs")
        copyFileSync(join(ROOT, ".devicescript", "bin", "bytecode.devs"), image)
        return image
    } finally {
        rmSync(lock, { recursive: true, force: true })
    }
}

/** Compiles and starts the firmware in the DeviceScript VM, pointed at the bridge. */
export function startVmFirmware(opts: VmFirmwareOptions): VmFirmware {
    const entry = compileFirmware(opts.entry ?? (process.env.ENC28J60_VM_ENTRY || "src/main.ts"))
    const args = ["--require", PRELOAD, CLI, "run", entry, "--test", "--test-self-exit", "-T", String(NO_TIMEOUT_MS)]
    const child = spawn(process.execPath, args, {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
            ...process.env,
            ENC28J60_BRIDGE_WELL_KNOWN: String(FIRMWARE_BRIDGE_PORT),
            ENC28J60_BRIDGE_PORT: String(opts.bridgePort),
            NO_COLOR: "1",
        },
    })
    // A private image goes with its run.
    if (entry.startsWith(tmpdir())) child.once("exit", () => rmSync(dirname(entry), { recursive: true, force: true }))
    const fw = new VmFirmware(child)
    const feed = (raw: string) => {
        // eslint-disable-next-line no-control-regex
        const text = raw.replace(/\x1b\[[0-9;]*m/g, "")
        fw.line(text)
        opts.onLine?.(text)
    }
    createInterface({ input: child.stdout }).on("line", feed)
    createInterface({ input: child.stderr }).on("line", feed)
    return fw
}

export interface VmDeviceOptions {
    /** Capture file for every frame at the chip's jack. */
    pcap?: string
    entry?: string
    onLine?: (line: string) => void
}

/** The chip model, its jack and the bridge here; the firmware (driver, stack, apps) in the VM. */
export interface VmDevice {
    chip: Enc28j60Chip
    jack: ChipPort
    bridge: VmBridge
    firmware: VmFirmware | null
    link: PointToPointLink | null
    pcap: PcapWriter | null
    attach(peer: FramePort): PointToPointLink
    /** Starts the bridge and the VM; resolves once the firmware has brought the chip up. */
    start(timeoutMs?: number): Promise<void>
    /** Stops the VM (by its PID) and the bridge, closes the pcap. Leaves the peer to its owner. */
    stop(): Promise<void>
}

export async function createVmDevice(opts: VmDeviceOptions = {}): Promise<VmDevice> {
    const chip = new Enc28j60Chip({ clock: new RealClock() })
    const jack = new ChipPort(chip)
    const pcap = opts.pcap ? new PcapWriter(opts.pcap, wallClockUs) : null
    if (pcap) jack.observe((frame) => pcap.write(frame))
    const bridge = await VmBridge.listen(chip)
    const device: VmDevice = {
        chip,
        jack,
        bridge,
        firmware: null,
        link: null,
        pcap,
        attach(peer: FramePort): PointToPointLink {
            if (device.link) throw new Error("vm device: already attached")
            device.link = new PointToPointLink(jack, peer)
            return device.link
        },
        async start(timeoutMs = 60000): Promise<void> {
            const fw = startVmFirmware({ bridgePort: bridge.port, entry: opts.entry, onLine: opts.onLine })
            device.firmware = fw
            await fw.waitForLine(/enc28j60 rev \d+ up/, timeoutMs)
        },
        async stop(): Promise<void> {
            if (device.firmware) await device.firmware.stop()
            await bridge.close()
            await jack.close()
            if (pcap) pcap.close()
        },
    }
    return device
}
