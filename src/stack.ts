// NetStack: the whole stack from one StackConfig — the interface (Ethernet, ARP, IPv4,
// ICMP), the TCP layer, the socket API, and the pump that runs them on a NetDevice
// under a Scheduler (src/hw/ds-scheduler.ts on the device, sim/scheduler.ts in Node).
//
// The pump task: receive frames → interface (and TCP input) → interface timers → TCP
// timers (tcp.poll) → transmit everything queued. It then sleeps until the earliest of:
// the next TCP deadline (tcp.pollAt()), the device poll interval (the ENC28J60 gives us
// no interrupt, so an idle pump looks for frames every idlePollMs), or a wake — when a
// socket call queues a frame or moves a timer earlier (kick()), or the device reports a
// frame (rxNotify). So a write goes out at once instead of at the next poll tick.
//
// Memory budget: every buffer comes from allocBytes() in the constructor and is counted
// in `allocatedBytes`; nothing is allocated afterwards (test/stack.test.ts proves it for a
// 1 MiB transfer). With C = tcpConnections, S/R = tcpSendBuffer/tcpRecvBuffer, M = mtu:
//   TCP rings            C × (S + R)                  (default 4 × 4096 = 16,384 B)
//   transmit frames      txFrames × (M + 14)          (default 3 × 1514 =  4,542 B)
//   pump receive buffer  M + 18                       (default             1,518 B)
//   addresses, ARP       ~12 B + arpEntries × 6 + 36  (default                ~96 B)
// = about 22.5 KB of buffers for the defaults. Control blocks, socket/listener objects,
// PollSets and waiters are fixed objects, also made once at start-up, but DeviceScript
// objects are costly: measured in the VM (test/devs), a default NetStack takes ~47 KB of
// the 64 KB heap — 22.7 KB buffers + ~25 KB objects, of which each TCP connection's
// control block is ~1.5 KB, the socket layer (sockets, listeners, 12 waiters) ~5 KB, and
// the netstat rows (made on the first netstat() call) ~160 B each. Size tcpConnections and
// the rings for what the application needs. Apps add their own buffers (echo: one buffer
// for all clients; discard: one small buffer per worker).

import { StackConfig } from "./config"
import { NetDevice } from "./driver/net-device"
import { Interface } from "./iface/interface"
import { NetPump, PumpTiming } from "./iface/pump"
import { Kicker } from "./socket/context"
import { Scheduler, Task, Waiter } from "./socket/scheduler"
import { Sockets } from "./socket/sockets"
import { TcpLayer } from "./tcp/tcp-layer"
import { UdpLayer } from "./udp/udp-layer"
import { DHCP_STATIC, DhcpClient } from "./dhcp/dhcp-client"
import { allocatedByteCount } from "./util/bytes"

export interface NetStackOptions {
    /**
     * Calls that may block at the same time (pool waiters; at most 32). Default: two per
     * connection slot (a reader and a writer) plus one per listener, capped at 32.
     */
    waiters?: number
    /** How often an idle pump looks for received frames, ms (default 2). */
    idlePollMs?: number
}

/** Wakes the pump whatever it is doing: for a device that can tell a frame arrived. */
/** @devsWhenUsed */
class RxNotify implements Kicker {
    private stack: NetStack
    constructor(stack: NetStack) {
        this.stack = stack
    }
    kick(): void {
        this.stack.wake()
    }
}

/** How often the pump task asks the device whether the link is up. */
const LINK_CHECK_MS = 1000

/**
 * The pump's clock, made outside the NetStack constructor: a DeviceScript closure keeps its
 * whole enclosing frame alive, and there that would include the config, which the stack
 * reads while it builds itself and then lets go (with the TCP event hook made likewise in
 * Sockets: about 0.5 KB more free heap under load, measured).
 */
function pumpTiming(scheduler: Scheduler): PumpTiming {
    return {
        nowMs: () => scheduler.nowMs(),
        delayMs: async (ms: number) => {
            await scheduler.sleep(ms)
        },
    }
}

/** @devsWhenUsed */
export class NetStack implements Task, Kicker {
    readonly scheduler: Scheduler
    readonly device: NetDevice
    readonly iface: Interface
    readonly tcp: TcpLayer
    readonly udp: UdpLayer
    /** The DHCP client, or null with config.dhcp off (static address). */
    readonly dhcp: DhcpClient
    readonly pump: NetPump
    readonly sockets: Sockets
    /** Give this to a device that can report arriving frames (MemoryNetDevice.notify). */
    readonly rxNotify: Kicker
    /** Bytes the stack took from allocBytes() at construction: all of its buffer memory. */
    readonly allocatedBytes: number
    /** Pump steps run, and wake-ups that cut a sleep short. */
    steps = 0
    wakeups = 0

    private waiter: Waiter
    /** (undefined until set counts as false: no initialisers, to save code) */
    private running: boolean
    private stopped: boolean
    /** While the pump sleeps: the time it will wake by itself; -1 while it runs. */
    private sleepingUntil = -1
    /** A frame arrived while the pump was running: step again before sleeping. */
    private rxPending: boolean
    /** The device said its link was down at the last look; when to look next (ms). */
    private linkDown: boolean
    private linkCheckAt = 0

    constructor(config: StackConfig, scheduler: Scheduler, device: NetDevice, opts?: NetStackOptions) {
        const before = allocatedByteCount()
        this.scheduler = scheduler
        this.device = device
        this.iface = new Interface(config)
        this.tcp = new TcpLayer(this.iface, config)
        this.pump = new NetPump(device, this.iface, pumpTiming(scheduler))
        this.udp = new UdpLayer(this.iface, config.udpPorts)
        if (config.dhcp) {
            // No address until a lease (or the static fallback); the DHCP timers run in
            // front of TCP's.
            this.iface.setAddress(0, 0, 0)
            const dhcp = new DhcpClient(this.udp, config)
            dhcp.next = this.tcp
            this.pump.timers = dhcp
            this.dhcp = dhcp
        } else {
            this.pump.timers = this.tcp
            this.dhcp = null
        }
        const o: NetStackOptions = opts || {}
        if (o.idlePollMs > 0) this.pump.idleMs = o.idlePollMs
        let waiters = o.waiters || 2 * config.tcpConnections + config.tcpListeners
        if (waiters > 32) waiters = 32
        this.sockets = new Sockets(this.tcp, scheduler, config, waiters)
        this.sockets.ctx.kicker = this
        this.waiter = scheduler.createWaiter()
        this.rxNotify = new RxNotify(this)
        this.allocatedBytes = allocatedByteCount() - before
    }

    /**
     * Asks the device for its link (the ENC28J60 has no interrupt we can use: polled, every
     * LINK_CHECK_MS; an exception counts as a device error). When it comes back: announce a
     * static address again (RFC 5227 section 2.3; the one at start-up went nowhere if the cable
     * was out), and let DHCP check its lease, since the cable may now be in another network
     * (RFC 2131 section 3.2), or search again.
     */
    private async checkLink(now: number): Promise<void> {
        this.linkCheckAt = now + LINK_CHECK_MS
        const up = await this.device.linkUp()
        if (up && this.linkDown) {
            // A leased address is announced once DHCP has confirmed it, not before: the cable
            // may now be in a network where it is someone else's (RFC 5227 section 2.1).
            const dhcp = this.dhcp
            if (dhcp === null || dhcp.state === DHCP_STATIC) this.iface.announce()
            if (dhcp !== null) dhcp.linkRestored(now)
        }
        this.linkDown = !up
    }

    /** Brings the device up and starts the pump task. */
    async start(): Promise<void> {
        await this.device.init()
        this.iface.announce()
        this.stopped = false
        this.scheduler.spawn(this)
    }

    /** The pump task (start() spawns it); returns after stop(). */
    async run(): Promise<void> {
        if (this.running) return
        this.running = true
        const sched = this.scheduler
        while (!this.stopped) {
            let worked = false
            this.rxPending = false
            try {
                if (sched.nowMs() >= this.linkCheckAt) await this.checkLink(sched.nowMs())
                worked = await this.pump.step()
            } catch (e) {
                this.pump.deviceErrors++
            }
            this.steps++
            // Frames queued by a task while the step was busy transmitting go out now.
            const ms = this.iface.txQueueLength() > 0 || this.rxPending ? 0 : this.pump.waitMs(worked)
            if (ms <= 0) {
                await sched.sleep(0) // let the other tasks run (and the VM watchdog rest)
            } else {
                this.sleepingUntil = sched.nowMs() + ms
                if (await this.waiter.wait(ms)) this.wakeups++
                this.sleepingUntil = -1
            }
        }
        this.running = false
    }

    /** Stops the pump task after its current step. */
    stop(): void {
        this.stopped = true
        this.waiter.wake()
    }

    /**
     * From the socket layer after a call that may have queued output or set a timer:
     * wakes a sleeping pump if it now has work before it would wake anyway.
     */
    kick(): void {
        const until = this.sleepingUntil
        if (until < 0) return // running: it checks the queue and the timers after its step
        if (this.iface.txQueueLength() > 0 || this.pump.timers.pollAt() < until) this.waiter.wake()
    }

    /** Wakes a sleeping pump now (a frame arrived). */
    wake(): void {
        if (this.sleepingUntil >= 0) this.waiter.wake()
        else this.rxPending = true
    }
}
