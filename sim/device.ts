// One simulated board: the ENC28J60 model, the SPI bus to it, the real driver, the
// interface and the pump — the same stack code that runs on the ESP32 — plus the chip's
// jack as a FramePort to plug a peer into, and an optional pcap of that jack.
//
// Real time (default) is for the CLI and real peers; a VirtualClock makes a run
// deterministic: the SPI bus advances it per byte and every driver/pump delay advances it
// instead of sleeping.

import { StackConfig, makeConfig } from "../src/config"
import { Enc28j60 } from "../src/driver/enc28j60/enc28j60"
import { Interface } from "../src/iface/interface"
import { NetPump, PumpTiming } from "../src/iface/pump"
import { RealClock, SimClock, VirtualClock } from "./clock"
import { Enc28j60Chip } from "./enc28j60/chip"
import { ChipSpiBus } from "./enc28j60/spi-bus"
import { PcapWriter, wallClockUs } from "./pcap"
import { ChipPort } from "./wire/chip-port"
import { FramePort } from "./wire/frame-port"
import { PointToPointLink } from "./wire/link"

export interface SimDeviceOptions {
    /** Fields replacing DEFAULT_CONFIG's (ip, mac, ...). */
    config?: Partial<StackConfig>
    /** A VirtualClock for deterministic runs; default real time. */
    clock?: SimClock
    /** Capture file for every frame at the chip's jack. */
    pcap?: string
}

export interface SimDevice {
    config: StackConfig
    clock: SimClock
    chip: Enc28j60Chip
    bus: ChipSpiBus
    driver: Enc28j60
    iface: Interface
    pump: NetPump
    timing: PumpTiming
    /** The chip's wire side. */
    jack: ChipPort
    /** The cable to the peer, once attach()ed. */
    link: PointToPointLink | null
    pcap: PcapWriter | null
    /** Plugs a peer into the jack. */
    attach(peer: FramePort): PointToPointLink
    /** Brings the chip up (driver.init) and runs the pump in the background. */
    start(): Promise<void>
    /** Stops the pump and waits for its loop to end, closes the pcap. Leaves the peer to its owner. */
    stop(): Promise<void>
}

/** Timing for the driver and the pump, on real time or on a virtual clock. */
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
    const clock = opts.clock ?? new RealClock()
    const chip = new Enc28j60Chip({ clock })
    const bus = new ChipSpiBus(chip)
    const timing = simTiming(clock)
    const driver = new Enc28j60(bus, timing, { mac: config.mac })
    const iface = new Interface(config)
    const pump = new NetPump(driver, iface, timing)
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
        iface,
        pump,
        timing,
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
            running = pump.run()
        },
        async stop(): Promise<void> {
            pump.stop()
            if (running) await running
            running = null
            await jack.close()
            if (pcap) pcap.close()
        },
    }
    return device
}

