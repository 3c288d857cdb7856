// One simulated board: the ENC28J60 model, the SPI bus to it, the real driver and the
// whole stack (NetStack: interface, TCP, sockets, pump) with the echo (7) and discard (9)
// apps — the same code that runs on the ESP32 — plus the chip's jack as a FramePort to
// plug a peer into, and an optional pcap of that jack.
//
// Real time (default) is for the CLI and real peers; a VirtualClock makes a run
// deterministic: the SPI bus advances it per byte, and a VirtualScheduler on the same
// clock moves it to the next driver/pump/TCP deadline whenever every task is blocked.

import { StackConfig, makeConfig } from "../src/config"
import { DiscardServer } from "../src/apps/discard"
import { EchoServer } from "../src/apps/echo"
import { StatusServer } from "../src/apps/status"
import { Enc28j60 } from "../src/driver/enc28j60/enc28j60"
import { Interface } from "../src/iface/interface"
import { NetPump, PumpTiming } from "../src/iface/pump"
import { Scheduler } from "../src/socket/scheduler"
import { Sockets } from "../src/socket/sockets"
import { NetStack } from "../src/stack"
import { TcpLayer } from "../src/tcp/tcp-layer"
import { RealClock, SimClock, VirtualClock } from "./clock"
import { RealScheduler, VirtualScheduler } from "./scheduler"
import { Enc28j60Chip } from "./enc28j60/chip"
import { ChipSpiBus } from "./enc28j60/spi-bus"
import { PcapWriter, wallClockUs } from "./pcap"
import { ChipPort } from "./wire/chip-port"
import { FrameHandler, FramePort } from "./wire/frame-port"
import { PointToPointLink } from "./wire/link"

export interface SimDeviceOptions {
    /** Fields replacing DEFAULT_CONFIG's (ip, mac, ...). */
    config?: Partial<StackConfig>
    /** A VirtualClock for deterministic runs; default real time. */
    clock?: SimClock
    /** Capture file for every frame at the chip's jack. */
    pcap?: string
    /** Run the echo (port 7), discard (port 9) and status (port 80) servers; default true. */
    apps?: boolean
}

export interface SimDevice {
    config: StackConfig
    clock: SimClock
    chip: Enc28j60Chip
    bus: ChipSpiBus
    driver: Enc28j60
    /** The whole stack, and its parts. */
    stack: NetStack
    iface: Interface
    tcp: TcpLayer
    sockets: Sockets
    pump: NetPump
    scheduler: Scheduler
    timing: PumpTiming
    /** The apps, null with apps: false. */
    echo: EchoServer | null
    discard: DiscardServer | null
    status: StatusServer | null
    /** The chip's wire side. */
    jack: ChipPort
    /** The cable to the peer, once attach()ed. */
    link: PointToPointLink | null
    pcap: PcapWriter | null
    /** Plugs a peer into the jack. */
    attach(peer: FramePort): PointToPointLink
    /** Brings the chip up (driver.init), runs the pump in the background, starts the apps. */
    start(): Promise<void>
    /** Stops the apps and the pump (waits for its loop to end), closes the pcap. Leaves the peer to its owner. */
    stop(): Promise<void>
}

/** The scheduler for a clock: virtual time on a VirtualClock, else real time. */
export function simScheduler(clock: SimClock): RealScheduler | VirtualScheduler {
    return clock instanceof VirtualClock ? new VirtualScheduler(clock) : new RealScheduler()
}

/** Timing for the driver and the pump from a scheduler. */
export function schedulerTiming(sched: Scheduler): PumpTiming {
    return { nowMs: () => sched.nowMs(), delayMs: (ms) => sched.sleep(ms) }
}

/** Timing for a driver and pump of their own (without a scheduler), on real time or a virtual clock. */
export function simTiming(clock: SimClock): PumpTiming {
    if (clock instanceof VirtualClock) {
        return {
            nowMs: () => clock.nowUs() / 1000,
            delayMs: (ms) => {
                clock.advanceUs(ms * 1000)
                // Still yield to Node's event loop, so sockets and timers get their turn.
                return new Promise((resolve) => setImmediate(resolve))
            },
        }
    }
    return {
        nowMs: () => clock.nowUs() / 1000,
        delayMs: (ms) => new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve))),
    }
}

export function createSimDevice(opts: SimDeviceOptions = {}): SimDevice {
    const config = makeConfig(opts.config ?? {})
    const withApps = opts.apps ?? true
    // echo, discard and status take a listener each.
    if (withApps && config.tcpListeners < 3) config.tcpListeners = 3
    const clock = opts.clock ?? new RealClock()
    const chip = new Enc28j60Chip({ clock })
    const bus = new ChipSpiBus(chip)
    const scheduler = simScheduler(clock)
    const timing = schedulerTiming(scheduler)
    const driver = new Enc28j60(bus, timing, { mac: config.mac })
    // The chip has no interrupt line: the idle pump looks for frames every 2 ms.
    const stack = new NetStack(config, scheduler, driver, { idlePollMs: 2 })
    const echo = withApps ? new EchoServer(stack.sockets, { maxClients: Math.max(1, config.tcpConnections - 1) }) : null
    const discard = withApps ? new DiscardServer(stack.sockets, { workers: 1 }) : null
    const status = withApps ? new StatusServer(stack, { driverCounters: driver.counters }) : null
    const jack = new ChipPort(chip)
    // Virtual time has no relation to the wall clock; real runs get epoch timestamps.
    const pcap = opts.pcap ? new PcapWriter(opts.pcap, clock instanceof VirtualClock ? () => clock.nowUs() : wallClockUs) : null
    if (pcap) jack.observe((frame) => pcap.write(frame))
    let running: Promise<void> = null

    const device: SimDevice = {
        config,
        clock,
        chip,
        bus,
        driver,
        stack,
        iface: stack.iface,
        tcp: stack.tcp,
        sockets: stack.sockets,
        pump: stack.pump,
        scheduler,
        timing,
        echo,
        discard,
        status,
        jack,
        link: null,
        pcap,
        attach(peer: FramePort): PointToPointLink {
            if (device.link) throw new Error("sim device: already attached")
            device.link = new PointToPointLink(jack, peer)
            return device.link
        },
        async start(): Promise<void> {
            await driver.init()
            stack.iface.announce()
            running = stack.run()
            echo?.start()
            discard?.start()
            status?.start()
        },
        async stop(): Promise<void> {
            echo?.stop()
            discard?.stop()
            status?.stop()
            stack.stop()
            if (running) await running
            running = null
            // Tasks still blocked (none, normally) never run again.
            scheduler.halt()
            await jack.close()
            if (pcap) pcap.close()
        },
    }
    return device
}


/**
 * Trims Ethernet padding from IPv4 frames on their way into passt: this passt build drops
 * any IPv4 packet whose total length differs from the frame's payload length (tap4_handler:
 * tot_len != l3_len), i.e. every padded minimum-size frame — a bare SYN-ACK or ACK. Real
 * Ethernet pads to 60 bytes (and the ENC28J60 does), so the trim belongs at passt's door.
 */
export class UnpadForPasst implements FramePort {
    trimmed = 0
    constructor(private inner: FramePort) {}
    send(frame: Buffer): void {
        if (frame.length >= 34 && frame[12] === 0x08 && frame[13] === 0x00) {
            const end = 14 + frame.readUInt16BE(16)
            if (end >= 34 && end < frame.length) {
                this.trimmed++
                frame = frame.subarray(0, end)
            }
        }
        this.inner.send(frame)
    }
    onFrame(handler: FrameHandler): void {
        this.inner.onFrame(handler)
    }
    close(): Promise<void> {
        return this.inner.close()
    }
}
