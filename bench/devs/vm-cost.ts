// What a packet costs in the DeviceScript VM: `npm run bench` (bench/vm-cost.ts) builds
// this program and runs it with `devs run --test`; it prints raw figures on lines
// starting "VMCOST" that the Node side turns into section 4 of BENCHMARKS.md.
//
// The device under test is the real ENC28J60 driver and NetStack (one connection slot,
// 4 KB rings, MSS 1460) on a fake chip (fake-enc28j60.ts); the bench itself plays the
// peer (peer.ts). Everything is timed in batches with ds.millis() (1 ms steps; the Node
// side's preload makes it CPU time): a job's cycle runs n times with `await ds.sleep(0)`
// after each (the VM watchdog panics after 131,072 ops without a suspension), n is grown
// until a batch takes >= TARGET_MS, and the best of REPS batches (taken in turns with the
// jobs it is compared with) is printed:
//   VMCOST job <name> <ms> <n>
//   VMCOST bus <name> <replayFakeMs> <replayNullMs> <replays> <logged> <seen> <cycles>
//   VMCOST spi|frames <name> <count> <cycles>      SPI commands, frames the device sent
//   VMCOST check <name> <value>
// A segment's cost is its job minus its harness job (the peer making and delivering the
// frame, and the loop itself) minus the fake chip's own time inside the bus calls (the
// "bus" line: the run's transfers, logged and replayed against the fake and against a bus
// that does nothing). The ".direct" jobs run the same segments on a bare device: the
// stack alone.
import * as ds from "@devicescript/core"
import { makeConfig } from "../../src/config"
import { DsScheduler } from "../../src/hw/ds-scheduler"
import { NetStack } from "../../src/stack"
import { Enc28j60 } from "../../src/driver/enc28j60/enc28j60"
import { NetDevice } from "../../src/driver/net-device"
import { SpiBus } from "../../src/driver/spi-bus"
import { TcpSocket } from "../../src/socket/socket"
import { RingBuffer } from "../../src/storage/ring-buffer"
import { checksumAdd, foldTo16 } from "../../src/util/checksum"
import { tcpChecksum, TCP_SYN, TCP_ACK } from "../../src/wire/tcp"
import { EthernetRepr, ethernetParse } from "../../src/wire/ethernet"
import { Ipv4Repr, ipv4Parse, parseIpv4 } from "../../src/wire/ipv4"
import { FakeEnc28j60, NullBus, replayLog, LOG_ENTRY, FAKE_RX_RING_END } from "./fake-enc28j60"
import { Peer, frameFlags, framePayload, frameSeq, isTcp } from "./peer"

const TARGET_MS = 120
const REPS = 5
/** Log room: the bus calls of a run's first ~36 full-size segments (22 commands, ~68 calls each). */
const LOG_ENTRIES = 800

const DEV_MAC = [0x02, 0, 0, 0, 0, 0x01]
const PEER_MAC = [0x02, 0, 0, 0, 0, 0x02]
const DEV_IP = "10.0.0.1"
const PEER_IP = "10.0.0.2"
const PORT = 5001
const FULL = 1460
const SMALL = 6

function out(kind: string, name: string, a: number, b: number): void {
    console.log("VMCOST " + kind + " " + name + " " + a + " " + b)
}

// ------------------------------------------------------------------ batches

interface Job {
    run(): Promise<void>
}

/** One batch: n cycles, each followed by a real suspension (watchdog). */
async function batch(job: Job, n: number): Promise<number> {
    prepare(job)
    await ds.sleep(0)
    const t0 = ds.millis()
    for (let i = 0; i < n; i++) {
        await job.run()
        await ds.sleep(0)
    }
    return ds.millis() - t0
}

/** Cycles per batch so one batch takes at least TARGET_MS. */
async function sizeFor(job: Job): Promise<number> {
    let n = 4
    for (let tries = 0; tries < 12; tries++) {
        const ms = await batch(job, n)
        if (ms >= TARGET_MS) return n
        if (ms < TARGET_MS / 8) n *= 8
        else n = Math.ceil((n * TARGET_MS * 1.2) / (ms > 0 ? ms : 1))
    }
    throw new Error("a job that takes no time")
}

/**
 * Measures jobs in REPS interleaved rounds (so a burst of load on the machine hits all
 * of them alike) and prints the best batch of each. Job j is sized for itself when
 * nFrom[j] < 0, else it takes the n of job nFrom[j] (a segment job and its harness).
 * Returns the n of the first job.
 */
async function measureSet(names: string[], jobs: Job[], nFrom: number[]): Promise<number> {
    const ns: number[] = []
    const mins: number[] = []
    for (let j = 0; j < jobs.length; j++) {
        ns.push(nFrom[j] >= 0 ? ns[nFrom[j]] : await sizeFor(jobs[j]))
        mins.push(-1)
    }
    for (let r = 0; r < REPS; r++) {
        for (let j = 0; j < jobs.length; j++) {
            const ms = await batch(jobs[j], ns[j])
            if (mins[j] < 0 || ms < mins[j]) mins[j] = ms
        }
    }
    for (let j = 0; j < jobs.length; j++) out("job", names[j], mins[j], ns[j])
    return ns[0]
}

async function measure(name: string, job: Job): Promise<number> {
    return await measureSet([name], [job], [-1])
}

/** @devsWhenUsed */
class EmptyJob implements Job {
    async run(): Promise<void> {}
}

/** One small allocation a cycle: under GC stress, one full collection of this heap. */
/** @devsWhenUsed */
class AllocJob implements Job {
    b: Buffer = null
    async run(): Promise<void> {
        this.b = Buffer.alloc(1)
    }
}

// ------------------------------------------------------------------ calibration

/** The calibration loop: fixed arithmetic, the same bytecode on any device. */
function calibLoop(n: number): number {
    let x = 0
    for (let i = 0; i < n; i++) x = (x * 31 + i) & 0xffff
    return x
}

const CALIB_ITERS = 4000

/** @devsWhenUsed */
class CalibJob implements Job {
    sink = 0
    async run(): Promise<void> {
        this.sink = calibLoop(CALIB_ITERS)
    }
}

// ------------------------------------------------------------------ the device and the wire

/** Where the peer's frames go in and the device's frames are found: the fake chip or a bare device. */
interface BenchWire {
    put(frame: Buffer, len: number): void
    drop(): void
    txCount(): number
    txBuf(): Buffer
    txOff(): number
}

/** @devsWhenUsed */
class ChipWire implements BenchWire {
    constructor(public chip: FakeEnc28j60) {}
    put(frame: Buffer, len: number): void {
        this.chip.deliver(frame, len)
    }
    drop(): void {
        this.chip.dropWaiting()
    }
    txCount(): number {
        return this.chip.txCount
    }
    txBuf(): Buffer {
        return this.chip.mem
    }
    txOff(): number {
        return this.chip.txOff
    }
}

/**
 * The stack without driver or bus: the pump's receive buffer is pointed at the peer's
 * frame (no copy) and a transmitted frame is only noted. Pump, interface, TCP and
 * sockets run exactly as with the chip.
 */
/** @devsWhenUsed */
class DirectWire implements NetDevice, BenchWire {
    pending = 0
    sent = 0
    lastBuf: Buffer = null
    constructor(public stack: NetStack) {}
    async init(): Promise<void> {}
    async linkUp(): Promise<boolean> {
        return true
    }
    async receive(buf: Buffer): Promise<number> {
        const n = this.pending
        this.pending = 0
        return n
    }
    async transmit(buf: Buffer, len: number): Promise<boolean> {
        this.lastBuf = buf
        this.sent++
        return true
    }
    put(frame: Buffer, len: number): void {
        this.stack.pump.rxBuf = frame
        this.pending = len
    }
    drop(): void {
        this.pending = 0
    }
    txCount(): number {
        return this.sent
    }
    txBuf(): Buffer {
        return this.lastBuf
    }
    txOff(): number {
        return 0
    }
}

// Big buffers first, while the heap is in one piece.
const log = Buffer.alloc(LOG_ENTRIES * LOG_ENTRY)
const logRegs = Buffer.alloc(128)
const savedRegs = Buffer.alloc(128)

/** The driver's clock; its sleeps are counted (a segment job must never wait on the clock). */
/** @devsWhenUsed */
class CountingTiming {
    sleeps = 0
    nowMs(): number {
        return ds.millis()
    }
    async delayMs(ms: number): Promise<void> {
        this.sleeps++
        await ds.sleep(ms)
    }
}
const timing = new CountingTiming()

const config = makeConfig({
    mac: DEV_MAC,
    ip: DEV_IP,
    netmask: "255.255.255.0",
    gateway: "10.0.0.254",
    mtu: 1500,
    txFrames: 2,
    arpEntries: 1,
    tcpConnections: 1,
    tcpListeners: 1,
    tcpSynQueue: 1,
    tcpBacklogMax: 1,
    tcpSendBuffer: 4096,
    tcpRecvBuffer: 4096,
    udpPorts: 1,
    tcpSecretSeed: 11,
    tcpSecretSeed2: 12,
})
const chip = new FakeEnc28j60()
const driver = new Enc28j60(chip, timing, { mac: DEV_MAC, rxRingEnd: FAKE_RX_RING_END })
const stack = new NetStack(config, new DsScheduler(), driver)
const realRxBuf = stack.pump.rxBuf
/** The app's buffer, and the replay's scratch: the pump's receive buffer, free between steps (heap is tight). */
const app = realRxBuf
const scratch = realRxBuf
const chipWire = new ChipWire(chip)
const direct = new DirectWire(stack)
const peerIp = parseIpv4(PEER_IP)
const devIp = parseIpv4(DEV_IP)
const peer = new Peer(PEER_MAC, DEV_MAC, peerIp, devIp, 40000, PORT)

/** Switches the pump between the real driver (chip) and the bare device. */
function useWire(w: BenchWire): void {
    // A frame left waiting on the other wire is stale now.
    chipWire.drop()
    direct.drop()
    if (w === chipWire) {
        stack.pump.dev = driver
        stack.pump.rxBuf = realRxBuf
    } else {
        stack.pump.dev = direct
    }
}

/** Connection state as the peer sees it. */
/** @devsWhenUsed */
class Conn {
    sock: TcpSocket = null
    /** Next SEQ the peer sends, and the device's SND.NXT (what the peer acks). */
    peerSeq = 0
    devNxt = 0
    readBytes = 0
    shortReads = 0
    written = 0
    shortWrites = 0
    /** Send cycles in which the device sent nothing. */
    idleSteps = 0
}
const conn = new Conn()

async function handshake(): Promise<void> {
    await driver.init()
    stack.iface.arp.learn(peerIp, peer.mac, 0, ds.millis())
    const listener = stack.sockets.listen(PORT, 1)
    peer.syn(1000)
    chip.deliver(peer.ctl, peer.ctlLen)
    const tx0 = chip.txCount
    await stack.pump.step()
    if (chip.txCount === tx0 || (frameFlags(chip.mem, chip.txOff) & (TCP_SYN | TCP_ACK)) !== (TCP_SYN | TCP_ACK))
        throw new Error("no SYN-ACK")
    conn.peerSeq = 1001
    conn.devNxt = (frameSeq(chip.mem, chip.txOff) + 1) >>> 0
    peer.ack(conn.peerSeq, conn.devNxt)
    chip.deliver(peer.ctl, peer.ctlLen)
    await stack.pump.step()
    conn.sock = listener.acceptNow()
    if (conn.sock === null) throw new Error("not accepted")
}

// ------------------------------------------------------------------ segment jobs

/** Receive: the peer sends one in-sequence segment, the pump takes it in, the app reads it out. */
/** @devsWhenUsed */
class RxJob implements Job {
    constructor(public wire: BenchWire, public size: number, public harness: boolean) {}
    async run(): Promise<void> {
        const c = conn
        peer.nextData(c.peerSeq, c.devNxt)
        this.wire.put(peer.data, peer.dataLen)
        if (this.harness) {
            this.wire.drop()
            return
        }
        c.peerSeq = (c.peerSeq + this.size) >>> 0
        await stack.pump.step()
        const n = c.sock.readNow(app, 0, app.length)
        if (n > 0) c.readBytes += n
        else c.shortReads++
    }
}

/**
 * Send: the app writes one segment's worth, the pump takes in the peer's ACK of the
 * previous segment and sends the new one, the peer acks it (an ACK for every segment).
 */
/** @devsWhenUsed */
class TxJob implements Job {
    constructor(public wire: BenchWire, public size: number, public harness: boolean) {}
    async run(): Promise<void> {
        const c = conn
        const w = this.wire
        const before = w.txCount()
        if (!this.harness) {
            const n = c.sock.writeNow(app, 0, this.size)
            if (n === this.size) c.written += n
            else c.shortWrites++
            await stack.pump.step()
        }
        // The peer acks what the device's last frame says is sent (its SEQ + length).
        const b = w.txBuf()
        const off = w.txOff()
        let nxt = (frameSeq(b, off) + framePayload(b, off)) >>> 0
        if (!this.harness) {
            if (w.txCount() !== before && isTcp(b, off)) c.devNxt = nxt
            else c.idleSteps++
            nxt = c.devNxt
        }
        peer.nextAck(nxt)
        w.put(peer.ctl, peer.ctlLen)
        if (this.harness) w.drop()
    }

    /** After a harness batch (which dropped the job's last ACK): the device gets it again. */
    resync(): void {
        peer.nextAck(conn.devNxt)
        this.wire.put(peer.ctl, peer.ctlLen)
    }
}

function resync(job: Job): void {
    if (job instanceof TxJob) (job as TxJob).resync()
}

/** Before a batch: a segment job's wire in the pump, and for a send job its last ACK waiting. */
function prepare(job: Job): void {
    if (job instanceof RxJob) useWire((job as RxJob).wire)
    else if (job instanceof TxJob) {
        useWire((job as TxJob).wire)
        resync(job)
    }
}

/** Bus replay: the logged transfers against the fake (registers as when the log began), or against NullBus. */
/** @devsWhenUsed */
class ReplayJob implements Job {
    constructor(public bus: SpiBus, public chip: FakeEnc28j60, public log: Buffer, public regs: Buffer, public entries: number, public scratch: Buffer) {}
    async run(): Promise<void> {
        this.chip.loadRegs(this.regs)
        await replayLog(this.bus, this.log, this.entries, this.scratch)
    }
}

/** The replays run on the chip itself; its registers and TX notes are put back afterwards. */
const replayChip = chip
const nullBus = new NullBus()

/**
 * One segment scenario: the job and its harness on the chip and on the bare device, in
 * turns; then the chip job once more with its bus calls logged (and the bare one once
 * more to count its frames), and the replays.
 */
async function scenario(name: string, size: number, rx: boolean): Promise<void> {
    const jobs: Job[] = []
    const wires: BenchWire[] = [chipWire, chipWire, direct, direct]
    for (let j = 0; j < 4; j++) {
        const harness = (j & 1) === 1
        if (rx) jobs.push(new RxJob(wires[j], size, harness))
        else jobs.push(new TxJob(wires[j], size, harness))
    }
    const n = await measureSet([name, name + ".harness", name + ".direct", name + ".direct.harness"], jobs, [-1, 0, -1, 2])
    const spi0 = driver.counters.spiTransactions
    const tx0 = chip.txCount
    chip.startLog(log, logRegs)
    await batch(jobs[0], n)
    chip.stopLog()
    out("spi", name, driver.counters.spiTransactions - spi0, n)
    out("frames", name, chip.txCount - tx0, n)
    const d0 = direct.sent
    await batch(jobs[2], n)
    out("frames", name + ".direct", direct.sent - d0, n)
    useWire(chipWire)
    resync(jobs[0])
    await replays(name, n)
}

/** Replays the log just taken against the chip and against NullBus and prints the "bus" line. */
async function replays(name: string, n: number): Promise<void> {
    const logged = chip.logged
    const seen = chip.seen
    savedRegs.blitAt(0, chip.regs, 0, 128)
    const txCount = chip.txCount
    const txOff = chip.txOff
    const txLen = chip.txLen
    const fake = new ReplayJob(replayChip, replayChip, log, logRegs, logged, scratch)
    const none = new ReplayJob(nullBus, replayChip, log, logRegs, logged, scratch)
    const reps = await sizeFor(fake)
    let fakeMs = -1
    let nullMs = -1
    for (let r = 0; r < REPS; r++) {
        const a = await batch(fake, reps)
        const b = await batch(none, reps)
        if (fakeMs < 0 || a < fakeMs) fakeMs = a
        if (nullMs < 0 || b < nullMs) nullMs = b
    }
    chip.loadRegs(savedRegs)
    chip.txCount = txCount
    chip.txOff = txOff
    chip.txLen = txLen
    console.log("VMCOST bus " + name + " " + fakeMs + " " + nullMs + " " + reps + " " + logged + " " + seen + " " + n)
}

// ------------------------------------------------------------------ breakdown jobs

/** The checksum before NATIVE_BUFFERS word reads: one 16-bit big-endian word per step. */
function checksumByteLoop(sum: number, buf: Buffer, off: number, len: number): number {
    const end = off + (len & ~1)
    for (let i = off; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1]
    if (len & 1) sum += buf[off + len - 1] << 8
    return sum
}

/** The word-read checksum as it was before 32 bytes a turn: two u32 reads a turn. */
function checksumEightBytes(sum: number, buf: Buffer, off: number, len: number): number {
    const end = off + (len & ~1)
    let i = off
    let le = 0
    const end8 = off + (len & ~7)
    for (; i < end8; i += 8) le += buf.getAt(i, "u32") + buf.getAt(i + 4, "u32")
    for (; i < end; i += 2) le += buf.getAt(i, "u16")
    le = foldTo16(le)
    sum += ((le & 0xff) << 8) | (le >> 8)
    if (len & 1) sum += buf[off + len - 1] << 8
    return sum
}

/** The stack's checksum against the byte loop: every length 0..80 at offsets 0..3, and 1460. Returns mismatches. */
async function checksumMismatches(buf: Buffer): Promise<number> {
    let bad = 0
    for (let i = 0; i < 200; i++) buf[i] = (i * 151 + 77) & 0xff
    for (let off = 0; off < 4; off++) {
        for (let len = 0; len <= 80; len++) {
            if (foldTo16(checksumAdd(0, buf, off, len)) !== foldTo16(checksumByteLoop(0, buf, off, len))) bad++
            await ds.sleep(0)
        }
    }
    for (let i = 0; i < FULL; i++) buf[i] = (i * 151 + 77) & 0xff
    await ds.sleep(0)
    if (foldTo16(checksumAdd(0, buf, 0, FULL)) !== foldTo16(checksumByteLoop(0, buf, 0, FULL))) bad++
    return bad
}

const PER_CYCLE = 4

/** @devsWhenUsed */
class ChecksumJob implements Job {
    sink = 0
    constructor(public kind: number, public buf: Buffer, public len: number) {}
    async run(): Promise<void> {
        const b = this.buf
        const len = this.len
        let s = 0
        for (let k = 0; k < PER_CYCLE; k++) {
            if (this.kind === 0) s += checksumAdd(0, b, 0, len)
            else if (this.kind === 1) s += checksumByteLoop(0, b, 0, len)
            else if (this.kind === 2) s += tcpChecksum(b, 34, len, peerIp, devIp)
            else s += checksumEightBytes(0, b, 0, len)
        }
        this.sink = foldTo16(s)
    }
}

/** @devsWhenUsed */
class ParseJob implements Job {
    eth = new EthernetRepr()
    ip = new Ipv4Repr()
    async run(): Promise<void> {
        for (let k = 0; k < PER_CYCLE; k++) {
            ethernetParse(peer.data, 0, peer.dataLen, this.eth)
            ipv4Parse(peer.data, 14, peer.dataLen - 14, this.ip)
        }
    }
}

/** @devsWhenUsed */
class RingJob implements Job {
    constructor(public ring: RingBuffer, public out: boolean) {}
    async run(): Promise<void> {
        const r = this.ring
        for (let k = 0; k < PER_CYCLE; k++) {
            r.enqueue(app, 0, FULL)
            if (this.out) r.dequeue(app, 0, FULL)
            else r.discard(FULL)
        }
    }
}

/** Driver receive of one frame the fake chip holds (harness: deliver and drop). */
/** @devsWhenUsed */
class DriverRxJob implements Job {
    got = 0
    constructor(public harness: boolean) {}
    async run(): Promise<void> {
        chip.deliver(peer.data, peer.dataLen)
        if (this.harness) chip.dropWaiting()
        else this.got += await driver.receive(realRxBuf)
    }
}

/** Driver transmit of one frame, then an empty receive poll (it collects the TXIF); or only the poll. */
/** @devsWhenUsed */
class DriverTxJob implements Job {
    constructor(public send: boolean) {}
    async run(): Promise<void> {
        if (this.send) await driver.transmit(peer.data, peer.dataLen)
        await driver.receive(realRxBuf)
    }
}

/** A driver job on the chip (with its harness, if any), then logged and replayed like a scenario. */
async function driverJob(name: string, job: Job, harness: Job): Promise<void> {
    const n = harness !== null ? await measureSet([name, name + ".harness"], [job, harness], [-1, 0]) : await measure(name, job)
    const spi0 = driver.counters.spiTransactions
    chip.startLog(log, logRegs)
    await batch(job, n)
    chip.stopLog()
    out("spi", name, driver.counters.spiTransactions - spi0, n)
    await replays(name, n)
}

function check(name: string, v: number): void {
    out("check", name, v, 0)
}

async function main(): Promise<void> {
    console.log("VMCOST start")
    await handshake()
    const initSleeps = timing.sleeps
    await measureSet(["empty", "alloc", "calib"], [new EmptyJob(), new AllocJob(), new CalibJob()], [-1, -1, -1])
    check("calib.iters", CALIB_ITERS)
    check("per_cycle", PER_CYCLE)

    // Full-size segments, then 60-byte frames (6 bytes of payload).
    peer.buildData(FULL, conn.peerSeq, conn.devNxt)
    await scenario("rx1460", FULL, true)
    check("rx1460.shortReads", conn.shortReads)
    peer.buildData(SMALL, conn.peerSeq, conn.devNxt)
    await scenario("rx6", SMALL, true)
    check("rx6.shortReads", conn.shortReads)
    check("rx.readBytes", conn.readBytes)

    // Sending: the peer's ACK frame is the control frame.
    peer.ack(conn.peerSeq, conn.devNxt)
    const segs0 = chip.txCount
    await scenario("tx1460", FULL, false)
    check("tx1460.shortWrites", conn.shortWrites)
    conn.sock.setNoDelay(true)
    await scenario("tx6", SMALL, false)
    check("tx6.shortWrites", conn.shortWrites)
    check("tx.written", conn.written)
    check("tx.idleSteps", conn.idleSteps)
    check("chip.txFrames", chip.txCount - segs0)
    check("chip.rxDropped", chip.rxDropped)
    check("tcp.rxDropChecksum", stack.tcp.counters.rxDropChecksum)
    check("tcp.retransmits", stack.tcp.counters.retransmits)
    check("driver.busErrors", driver.counters.busErrors)
    check("driver.sleepsAfterInit", timing.sleeps - initSleeps)

    // Breakdown: the pieces of a full-size segment, PER_CYCLE calls per cycle.
    peer.buildData(FULL, conn.peerSeq, conn.devNxt)
    check("csum.mismatches", await checksumMismatches(app))
    await measureSet(
        ["csum.word.1460", "csum.word8.1460", "csum.byte.1460", "csum.tcp.1480", "parse.eth_ip"],
        [new ChecksumJob(0, app, FULL), new ChecksumJob(3, app, FULL), new ChecksumJob(1, app, FULL), new ChecksumJob(2, peer.data, FULL + 20), new ParseJob()],
        [-1, -1, -1, -1, -1]
    )
    // A header's worth: the IPv4 header is checksummed once per frame each way.
    await measureSet(
        ["csum.word.20", "csum.word8.20", "csum.byte.20"],
        [new ChecksumJob(0, app, 20), new ChecksumJob(3, app, 20), new ChecksumJob(1, app, 20)],
        [-1, -1, -1]
    )
    useWire(chipWire)
    await driverJob("drv.rx1514", new DriverRxJob(false), new DriverRxJob(true))
    await driverJob("drv.poll", new DriverTxJob(false), null)
    await driverJob("drv.tx1514", new DriverTxJob(true), null)
    // The connection's own receive ring (empty now: the app read everything; no room for another 4 KB).
    const ring = stack.tcp.conns[0].recvRing
    check("ring.count", ring.count)
    await measureSet(["ring.in", "ring.inout"], [new RingJob(ring, false), new RingJob(ring, true)], [-1, -1])
    console.log("VMCOST done")
}

async function runAll(): Promise<void> {
    try {
        await main()
    } catch (e) {
        console.log("VMCOST error " + e)
    }
    ds.restart()
}

runAll.start()
