// The pump: the only async part of the stack. It moves received frames from the
// device into the interface, queued frames from the interface to the device, and
// gives the interface (and the transport above it, `timers`) its timer tick. One RX
// buffer, allocated once.

import { allocBytes } from "../util/bytes"
import { NetDevice } from "../driver/net-device"
import { ETHERNET_HEADER_LEN } from "../wire/ethernet"
import { Interface } from "./interface"

export interface PumpTiming {
    nowMs(): number
    delayMs(ms: number): Promise<void>
}

/** Timers of a layer above the interface (the TCP layer): run at every step. */
export interface PumpTimers {
    /** Runs what is due at now (retransmissions, delayed ACKs, TIME-WAIT ...). */
    poll(now: number): void
    /** When poll() next has work: an absolute time in ms (<= now: at once). */
    pollAt(): number
}

/** Frames received per step before the pump transmits and ticks (keeps replies flowing under load). */
const RX_PER_STEP = 4
/** Extra RX buffer room beyond mtu + 14: a VLAN tag or a sloppy sender's trailer. */
const RX_SLACK = 4

/** @devsWhenUsed */
export class NetPump {
    dev: NetDevice
    iface: Interface
    timing: PumpTiming
    rxBuf: Buffer
    /** How long run() sleeps when a step found nothing to do. */
    idleMs: number
    /** Exceptions from the device (receive/transmit rejected). */
    deviceErrors: number
    /** Timers ticked after the interface's at every step (set by the stack); null = none. */
    timers: PumpTimers
    private stopped: boolean

    constructor(dev: NetDevice, iface: Interface, timing: PumpTiming, rxBuf?: Buffer) {
        this.dev = dev
        this.iface = iface
        this.timing = timing
        this.rxBuf = rxBuf || allocBytes(iface.mtu + ETHERNET_HEADER_LEN + RX_SLACK)
        this.idleMs = 2
        this.deviceErrors = 0
        this.timers = null
        this.stopped = false
    }

    /** Receives up to a few frames, ticks the interface, transmits everything queued. True if it did work. */
    async step(): Promise<boolean> {
        const iface = this.iface
        let worked = false
        for (let i = 0; i < RX_PER_STEP; i++) {
            const n = await this.dev.receive(this.rxBuf)
            if (!(n > 0)) break
            iface.input(this.rxBuf, n, this.timing.nowMs())
            worked = true
        }
        iface.poll(this.timing.nowMs())
        // Timers go before transmitting, so what they send leaves in this same step.
        if (this.timers !== null) this.timers.poll(this.timing.nowMs())
        let f = iface.nextTxFrame()
        while (f !== null) {
            let ok = false
            try {
                ok = await this.dev.transmit(f.buf, f.len)
            } finally {
                // The frame goes back to the pool whatever the device did.
                iface.txDone(f)
            }
            if (!ok) iface.counters.txDeviceErrors++
            worked = true
            f = iface.nextTxFrame()
        }
        return worked
    }

    /**
     * Steps until stop(). Sleeps idleMs when idle; yields between busy steps (the VM watchdog).
     * For a pump without a NetStack (NetStack.run drives its own). Not named run(): every
     * class's run() would then be compiled in wherever a Task's run() is called.
     */
    async loop(): Promise<void> {
        this.stopped = false
        while (!this.stopped) {
            let worked = false
            try {
                worked = await this.step()
            } catch (e) {
                this.deviceErrors++
            }
            await this.timing.delayMs(this.waitMs(worked))
        }
    }

    /**
     * How long to sleep after a step: 0 after work, else idleMs (the device has no
     * interrupt: it is polled), cut short when the timers are due sooner.
     */
    waitMs(worked: boolean): number {
        if (worked) return 0
        let ms = this.idleMs
        if (this.timers !== null) {
            const due = this.timers.pollAt() - this.timing.nowMs()
            if (due < ms) ms = due > 0 ? due : 0
        }
        return ms
    }

    stop(): void {
        this.stopped = true
    }
}
