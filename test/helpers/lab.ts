// The simulator as a lab: any number of simulated boards (chip model + SPI bus + the real
// driver + NetStack) on ONE VirtualScheduler, wired by FaultyLinks or an EthernetSwitch
// whose delays are timers on the same scheduler. Everything runs on virtual time: an hour
// of TCP timers passes in about a second, and a run is deterministic for a seed.
//
// Differences from sim/device.ts's createSimDevice (which makes one scheduler per device):
// the scheduler is shared, so time moves only when every device is blocked; each board's
// SPI transfers keep only that board busy (createLab's spiTime option); and each
// delivery into a chip wakes that device's pump (like an INT-driven driver), so the idle
// poll can be long (default 1 s) and idle virtual time costs almost nothing; and a frame the
// chip is sending leaves on time even when the driver does not touch the chip again.

import { VirtualClock } from "../../sim/clock"
import { Enc28j60Chip } from "../../sim/enc28j60/chip"
import { ChipSpiBus } from "../../sim/enc28j60/spi-bus"
import { PcapWriter } from "../../sim/pcap"
import { VirtualScheduler } from "../../sim/scheduler"
import { ChipPort } from "../../sim/wire/chip-port"
import { ChipFcsPort, FaultOptions, FcsPort, FaultyLink, WireTimer, virtualWireTimer } from "../../sim/wire/faults"
import { FrameHandler, FramePort } from "../../sim/wire/frame-port"
import { makeConfig, StackConfig } from "../../src/config"
import { Enc28j60 } from "../../src/driver/enc28j60/enc28j60"
import { TcpSocket } from "../../src/socket/socket"
import { NetStack } from "../../src/stack"
import { SocketError, errorName } from "../../src/tcp/errors"

export interface LabDeviceOptions {
    /** Fields replacing DEFAULT_CONFIG's; ip and mac default from the device's index. */
    config?: Partial<StackConfig>
    /** Idle poll interval of the pump, ms (default 1000: arrivals wake the pump anyway). */
    idlePollMs?: number
    /** Capture file for every frame at this device's jack (virtual-time stamps). */
    pcap?: string
}

/** Frames a device sent with non-zero bytes after the end of their payload. */
export interface LeakReport {
    framesChecked: number
    leaks: number
    firstLeak: string | null
}

export interface LabDevice {
    index: number
    config: StackConfig
    chip: Enc28j60Chip
    bus: ChipSpiBus
    driver: Enc28j60
    stack: NetStack
    /** The chip's jack, with bad-FCS delivery: plug this into a link or a switch. */
    jack: FcsPort
    chipPort: ChipPort
    pcap: PcapWriter | null
    /** Every frame this device put on the wire, checked for stale bytes after its payload. */
    leaks: LeakReport
    start(): Promise<void>
    stop(): Promise<void>
}

export interface Lab {
    clock: VirtualClock
    sched: VirtualScheduler
    /** Timers for fault stages and anything else on the wire: the lab's virtual time. */
    timer: WireTimer
    devices: LabDevice[]
    addDevice(opts?: LabDeviceOptions): LabDevice
    /** A faulty cable between two ports on the lab's clock (opts.timer is set for you). */
    link(a: FramePort, b: FramePort, faults?: FaultOptions): FaultyLink
    nowMs(): number
    /** Lets virtual time pass. */
    sleep(ms: number): Promise<void>
    /** Stops every device and halts virtual time. */
    stop(): Promise<void>
}

export const LAB_NET = "10.77.0."

/**
 * Where the meaningful bytes of a frame end: IPv4 total length, the 28-byte ARP body, or
 * the whole frame for anything else. Bytes after that (up to the 60-byte minimum) are padding.
 */
export function payloadEnd(f: Buffer): number {
    if (f.length < 14) return f.length
    const type = f.readUInt16BE(12)
    if (type === 0x0800 && f.length >= 18) return Math.min(f.length, 14 + f.readUInt16BE(16))
    if (type === 0x0806) return Math.min(f.length, 42)
    return f.length
}

/** Index of the first non-zero byte after the payload, or -1. */
export function firstStaleByte(f: Buffer): number {
    for (let i = payloadEnd(f); i < f.length; i++) if (f[i] !== 0) return i
    return -1
}

export interface LabOptions {
    /**
     * How the boards' SPI buses take time (sim/enc28j60/spi-bus.ts). "per-board" (default):
     * a transfer keeps its board busy on a scheduler timer while the others run, as on real
     * boards. "shared": every byte moves the one virtual clock at once, so the boards' bus
     * times add up.
     */
    spiTime?: "per-board" | "shared"
}

export function createLab(labOpts: LabOptions = {}): Lab {
    const clock = new VirtualClock()
    const sched = new VirtualScheduler(clock)
    const timer = virtualWireTimer(sched)
    // The scheduler rounds a sleep up to whole µs; the bus asks for whole µs (the nudge keeps
    // 606 µs from becoming 607 through floating-point noise in us / 1000 * 1000).
    const spiWait = labOpts.spiTime === "shared" ? undefined : (us: number) => sched.sleep((us - 1e-4) / 1000)
    const devices: LabDevice[] = []
    const lab: Lab = {
        clock,
        sched,
        timer,
        devices,
        addDevice(opts: LabDeviceOptions = {}): LabDevice {
            const index = devices.length
            const config = makeConfig({
                mac: [0x02, 0x4c, 0x41, 0x42, 0x00, index + 1],
                ip: LAB_NET + (index + 1),
                netmask: "255.255.255.0",
                gateway: LAB_NET + "254",
                tcpSecretSeed: 4242 + index,
                ...(opts.config ?? {}),
            })
            const chip = new Enc28j60Chip({ clock })
            const bus = new ChipSpiBus(chip, spiWait)
            const timing = { nowMs: () => sched.nowMs(), delayMs: (ms: number) => sched.sleep(ms) }
            const driver = new Enc28j60(bus, timing, { mac: config.mac })
            const stack = new NetStack(config, sched, driver, { idlePollMs: opts.idlePollMs ?? 1000 })
            sendOnTime(chip, bus, sched)
            const chipPort = new ChipPort(chip)
            const pcap = opts.pcap ? new PcapWriter(opts.pcap, () => clock.nowUs()) : null
            const leaks: LeakReport = { framesChecked: 0, leaks: 0, firstLeak: null }
            chipPort.observe((frame, outbound) => {
                if (pcap) pcap.write(frame)
                if (!outbound) return
                leaks.framesChecked++
                const at = firstStaleByte(frame)
                if (at >= 0) {
                    leaks.leaks++
                    if (!leaks.firstLeak) leaks.firstLeak = `byte ${at} of ${frame.length}: ${frame.toString("hex")}`
                }
            })
            const jack = new WakingJack(new ChipFcsPort(chipPort, chip), stack)
            const d: LabDevice = {
                index,
                config,
                chip,
                bus,
                driver,
                stack,
                jack,
                chipPort,
                pcap,
                leaks,
                start: () => stack.start(),
                async stop() {
                    stack.stop()
                    await chipPort.close()
                    if (pcap) pcap.close()
                },
            }
            devices.push(d)
            return d
        },
        link(a: FramePort, b: FramePort, faults: FaultOptions = {}): FaultyLink {
            return new FaultyLink(a, b, { ...faults, timer })
        },
        nowMs: () => sched.nowMs(),
        sleep: (ms: number) => sched.sleep(ms),
        async stop() {
            for (const d of devices) await d.stop()
            sched.halt()
        },
    }
    return lab
}

/**
 * The chip model puts a started frame on the wire at the first touch after its frame time;
 * a driver that goes idle right after starting one would hold it back until its next poll
 * (up to idlePollMs). After every SPI transaction that leaves a transmission running, poll
 * the chip once the longest frame time has passed, so frames leave on time as on silicon.
 */
function sendOnTime(chip: Enc28j60Chip, bus: ChipSpiBus, sched: VirtualScheduler): void {
    // (8 + 1518 + 12) bytes × 0.8 µs, rounded up.
    const MAX_FRAME_MS = 1.24
    let armed = false
    const check = () => {
        armed = false
        chip.poll()
        if (chip.txBusy()) arm()
    }
    const arm = () => {
        if (armed) return
        armed = true
        sched.addTimer(MAX_FRAME_MS, check)
    }
    const deselect = bus.deselect.bind(bus)
    bus.deselect = () => {
        deselect()
        if (chip.txBusy()) arm()
    }
}

/** The jack, plus: every frame put into the chip wakes the pump (the INT line, in effect). */
class WakingJack implements FcsPort {
    constructor(
        private readonly inner: ChipFcsPort,
        private readonly stack: NetStack,
    ) {}
    send(frame: Buffer): void {
        this.inner.send(frame)
        this.stack.rxNotify.kick()
    }
    sendWithBadFcs(frame: Buffer): void {
        this.inner.sendWithBadFcs(frame)
        this.stack.rxNotify.kick()
    }
    onFrame(handler: FrameHandler): void {
        this.inner.onFrame(handler)
    }
    close(): Promise<void> {
        return this.inner.close()
    }
}

// ---------------------------------------------------------------------- transfers

export { patternBytes as labPattern, sha256 } from "./data"

export interface SideResult {
    /** Bytes read until EOF (or until the error). */
    received: Buffer
    /** errno name of the error that ended the side ("" = clean EOF and all written). */
    error: string
}

/** Writes all of data (then shuts down) while reading until EOF. Errors end the side and are reported, not thrown. */
export async function exchange(s: TcpSocket, data: Buffer, chunk = 1024): Promise<SideResult> {
    const chunks: Buffer[] = []
    let error = ""
    const note = (e: unknown) => {
        if (!(e instanceof SocketError)) throw e
        if (!error) error = errorName(e.code)
    }
    const writer = (async () => {
        try {
            for (let off = 0; off < data.length; off += chunk) await s.write(data, off, Math.min(chunk, data.length - off))
            s.shutdown()
        } catch (e) {
            note(e)
        }
    })()
    const buf = Buffer.alloc(2048)
    try {
        for (;;) {
            const n = await s.read(buf, 0, buf.length)
            if (n === 0) break
            chunks.push(Buffer.from(buf.subarray(0, n)))
        }
    } catch (e) {
        note(e)
    }
    await writer
    return { received: Buffer.concat(chunks), error }
}

export interface TransferResult {
    /** What the server (device a) and the client (device b) received. */
    atServer: SideResult
    atClient: SideResult
    /** Virtual ms from connect to both sides done. */
    virtualMs: number
    wallMs: number
    /** Set when the run hit its virtual-time bound: which side was still busy. */
    hung: string | null
}

/**
 * b connects to a:port; each side sends its data and reads the other's until EOF.
 * Bounded: after maxVirtualMs of virtual time the run is reported as hung (never waits forever).
 */
export async function transferBothWays(
    lab: Lab, a: LabDevice, b: LabDevice, toClient: Buffer, toServer: Buffer, maxVirtualMs: number, port = 5000,
): Promise<TransferResult> {
    const t0 = lab.nowMs()
    const w0 = Date.now()
    const listener = a.stack.sockets.listen(port, 2)
    let serverDone = false
    let clientDone = false
    const server = (async (): Promise<SideResult> => {
        try {
            const s = await listener.accept()
            const r = await exchange(s, toClient)
            await s.close().catch(() => {})
            return r
        } catch (e) {
            if (e instanceof SocketError) return { received: Buffer.alloc(0), error: errorName(e.code) }
            throw e
        } finally {
            serverDone = true
        }
    })()
    const client = (async (): Promise<SideResult> => {
        try {
            const s = await b.stack.sockets.connect(a.config.ip, port, 30000)
            const r = await exchange(s, toServer)
            await s.close().catch(() => {})
            return r
        } catch (e) {
            if (e instanceof SocketError) return { received: Buffer.alloc(0), error: errorName(e.code) }
            throw e
        } finally {
            clientDone = true
        }
    })()
    // The watchdog runs on virtual time too: a hang shows up as time passing without progress.
    let hung: string | null = null
    const watchdog = (async () => {
        while (!(serverDone && clientDone)) {
            if (lab.nowMs() - t0 > maxVirtualMs) {
                hung = `not done after ${maxVirtualMs} virtual ms: server ${serverDone ? "done" : "busy"}, client ${clientDone ? "done" : "busy"}\n${a.stack.sockets.netstatText()}\n${b.stack.sockets.netstatText()}`
                return
            }
            await lab.sleep(1000)
        }
    })()
    await Promise.race([Promise.all([server, client]), watchdog])
    const done = serverDone && clientDone
    const atServer = done ? await server : { received: Buffer.alloc(0), error: "HUNG" }
    const atClient = done ? await client : { received: Buffer.alloc(0), error: "HUNG" }
    listener.close()
    return { atServer, atClient, virtualMs: lab.nowMs() - t0, wallMs: Date.now() - w0, hung }
}
