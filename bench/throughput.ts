// Bulk TCP goodput between two simulated boards (chip model + SPI bus + the real driver +
// NetStack) on the lab's virtual clock, joined by a FaultyLink with 10 Mbit/s wire timing
// and no faults. Virtual time moves by the SPI bytes at the chip's sckHz, by the frame
// times on the wire and by the timers (delayed ACK, RTO) — not by Node's CPU time — so the
// figure is what the chip, the bus and the protocol allow, not how fast Node runs the code
// (nor how fast the DeviceScript VM would: that is not modelled). Each board's SPI time
// keeps only that board busy (the lab's per-board bus time), as on two real boards.
//
// Timing: from the first write on an established connection to the moment the receiver
// has read the last byte (the FIN is not waited for).

import { StackConfig } from "../src/config"
import { TcpSocket } from "../src/socket/socket"
import { TcpConnStats } from "../src/tcp/info"
import { allocationCount } from "../src/util/bytes"
import { createLab } from "../test/helpers/lab"

/** TCP payload limit of 10BASE-T with MSS 1460: 1460 of every 1538 wire bytes (preamble+SFD 8, header 14, IP+TCP 40, FCS 4, gap 12). */
export const WIRE_PAYLOAD_LIMIT_BPS = (1460 / 1538) * 10e6 / 8 // bytes per second, ≈ 1.186 MB/s

export interface BulkOptions {
    /** SPI clock of the device's chip, and of the peer's (default: the same). */
    sckHz: number
    peerSckHz?: number
    /** Overrides for the device under test and for the peer. */
    device: Partial<StackConfig>
    peer: Partial<StackConfig>
    /** "out": device → peer; "in": peer → device. */
    direction: "out" | "in"
    bytes: number
    /** SO_SNDBUF on the sending socket = its send MSS: one segment in flight (uIP-style). */
    oneSegment: boolean
    /** Virtual-time bound, ms. */
    maxVirtualMs?: number
}

export interface BulkResult {
    bytes: number
    virtualMs: number
    wallMs: number
    /** Goodput, bytes per virtual second, and as a fraction of WIRE_PAYLOAD_LIMIT_BPS. */
    bytesPerSec: number
    ofLimit: number
    sndMss: number
    segsOut: number
    retransmits: number
    /** allocBytes() calls between the first write and the last byte read (must be 0). */
    allocations: number
    error: string
}

export async function bulk(o: BulkOptions): Promise<BulkResult> {
    const lab = createLab()
    const dev = lab.addDevice({ config: o.device })
    const peer = lab.addDevice({ config: o.peer })
    dev.chip.sckHz = o.sckHz
    peer.chip.sckHz = o.peerSckHz ?? o.sckHz
    lab.link(dev.jack, peer.jack, { rateBps: 10e6 })
    await dev.start()
    await peer.start()
    const sender = o.direction === "out" ? dev : peer
    const receiver = o.direction === "out" ? peer : dev
    const port = 5001
    const listener = receiver.stack.sockets.listen(port, 1)
    const w0 = Date.now()
    let error = ""
    let rs: TcpSocket = null
    let ss: TcpSocket = null
    try {
        const accepting = listener.accept()
        ss = await sender.stack.sockets.connect(receiver.config.ip, port, 30000)
        rs = await accepting
        const stats = new TcpConnStats()
        ss.stats(stats)
        if (o.oneSegment) ss.setSendBuffer(stats.sndMss)
        const data = Buffer.alloc(4096)
        for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff
        const t0 = lab.nowMs()
        const a0 = allocationCount()
        let tEnd = -1
        let a1 = -1
        const writer = (async () => {
            for (let off = 0; off < o.bytes; ) {
                const n = Math.min(data.length, o.bytes - off)
                off += await ss.write(data, 0, n)
            }
        })()
        const reader = (async () => {
            const buf = Buffer.alloc(2048)
            let got = 0
            while (got < o.bytes) {
                const n = await rs.read(buf, 0, buf.length)
                if (n === 0) throw new Error(`EOF after ${got} bytes`)
                got += n
            }
            tEnd = lab.nowMs()
            a1 = allocationCount()
        })()
        const bound = o.maxVirtualMs ?? 600000
        const watchdog = (async () => {
            while (tEnd < 0 && lab.nowMs() - t0 < bound) await lab.sleep(1000)
        })()
        await Promise.race([Promise.all([writer, reader]), watchdog])
        if (tEnd < 0) throw new Error(`not done after ${bound} virtual ms`)
        ss.stats(stats)
        const virtualMs = tEnd - t0
        const bytesPerSec = (o.bytes * 1000) / virtualMs
        return {
            bytes: o.bytes,
            virtualMs,
            wallMs: Date.now() - w0,
            bytesPerSec,
            ofLimit: bytesPerSec / WIRE_PAYLOAD_LIMIT_BPS,
            sndMss: stats.sndMss,
            segsOut: stats.segsOut,
            retransmits: stats.retransmits,
            allocations: a1 - a0,
            error,
        }
    } catch (e) {
        error = String(e instanceof Error ? e.message : e)
        return { bytes: o.bytes, virtualMs: NaN, wallMs: Date.now() - w0, bytesPerSec: NaN, ofLimit: NaN, sndMss: 0, segsOut: 0, retransmits: 0, allocations: -1, error }
    } finally {
        if (rs) rs.abort()
        if (ss) ss.abort()
        listener.close()
        await lab.stop()
    }
}
