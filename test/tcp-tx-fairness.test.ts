// Fairness for transmit frames. The pump handles every received frame before it runs the
// TCP timers (src/iface/pump.ts), and the interface has only a few frames (the firmware: 2).
// A connection whose output found no free frame is retried from poll(); if the segments
// that arrive in each pump step take every frame (a busy neighbour's ACKs), that retry
// found the pool empty again, step after step: in the DeviceScript VM an echo client sat
// with a full send ring for 10 s while a discard stream ran, and a new client's SYN-ACK
// never went out (passt gave up on it). These tests replay that schedule on a fake IP
// layer that frees `perStep` frames per pump step.
import { expect, test } from "vitest"
import { Harness, LOCAL_PORT, REMOTE_IP, REMOTE_ISS, u32 } from "./helpers/tcp-fixtures"

const BUSY_PORT = 40001
const QUIET_PORT = 40002

/** Frames the pump has free in the current step; allocIpv4Frame fails beyond them. */
function limitFrames(h: Harness): { free: number } {
    const pool = { free: Infinity }
    const alloc = h.ip.allocIpv4Frame.bind(h.ip)
    h.ip.allocIpv4Frame = () => {
        if (pool.free <= 0) return null
        pool.free--
        return alloc()
    }
    return pool
}

/** An active open to REMOTE_IP:port, established with a large peer window. */
function open(h: Harness, port: number): { id: number; snd: number; local: number } {
    const id = h.layer.connect(REMOTE_IP, port, h.now)
    const syn = h.one()
    h.send({ srcPort: port, dstPort: syn.srcPort, flags: "SA", seq: REMOTE_ISS, ack: u32(syn.seq + 1), win: 65535, mss: 1460 })
    h.one() // the ACK
    return { id, snd: u32(syn.seq + 1), local: syn.srcPort }
}

/** One pump step of the busy stream: two full segments arrive (an ACK is due), its reader takes them. */
function busyStep(h: Harness, busy: { id: number; snd: number; local: number }, rcv: number): number {
    for (let k = 0; k < 2; k++) {
        h.send({ srcPort: BUSY_PORT, dstPort: busy.local, flags: "A", seq: rcv, ack: busy.snd, win: 65535, payload: Buffer.alloc(1024, 0x42) })
        rcv = u32(rcv + 1024)
    }
    h.layer.recv(busy.id, Buffer.alloc(4096), 0, 4096, h.now)
    return rcv
}

test("a connection that found no frame is not starved by a busy neighbour's ACKs", () => {
    const h = new Harness({ tcpConnections: 3 })
    const busy = open(h, BUSY_PORT)
    const quiet = open(h, QUIET_PORT)
    const pool = limitFrames(h)
    // The quiet connection (an echo reply) finds the pool empty.
    pool.free = 0
    expect(h.write(quiet.id, Buffer.alloc(1000, 0x51))).toBe(1000)
    h.take()
    let rcv = u32(REMOTE_ISS + 1)
    let quietSent = 0
    let busyAcked = 0
    for (let step = 0; step < 20; step++) {
        // One pump step: the frame sent last step is back; the busy stream's segments are
        // handled (their ACK wants the frame), then the timers run (poll).
        pool.free = 1
        h.now += 1
        rcv = busyStep(h, busy, rcv)
        h.layer.poll(h.now)
        for (const s of h.take()) {
            if (s.dstPort === QUIET_PORT) quietSent += s.payload.length
            else busyAcked = u32(s.ack - REMOTE_ISS - 1)
        }
    }
    // Both move: the echo reply goes out, and the busy stream is still acknowledged.
    expect(quietSent).toBe(1000)
    expect(busyAcked).toBeGreaterThan(10 * 2048)
})

test("a SYN-ACK that found no frame goes out at the next free one, not a second later", () => {
    const h = new Harness({ tcpConnections: 3 })
    expect(h.layer.listen(LOCAL_PORT, 2, false)).toBeGreaterThanOrEqual(0)
    const busy = open(h, BUSY_PORT)
    const pool = limitFrames(h)
    let rcv = u32(REMOTE_ISS + 1)
    // The busy stream's ACK took the step's frame when the SYN arrives.
    pool.free = 1
    rcv = busyStep(h, busy, rcv)
    h.send({ srcPort: QUIET_PORT, dstPort: LOCAL_PORT, flags: "S", seq: 7000, win: 65535, mss: 1460 })
    h.layer.poll(h.now)
    let synAckAt = -1
    const start = h.now
    for (let step = 0; step < 200 && synAckAt < 0; step++) {
        pool.free = 1
        h.now += 1
        rcv = busyStep(h, busy, rcv)
        h.layer.poll(h.now)
        for (const s of h.take()) if (s.dstPort === QUIET_PORT && s.flags === "SA") synAckAt = h.now
    }
    // The retransmission would come after the initial RTO (1 s); the retry within 20 ms.
    expect(synAckAt).toBeGreaterThan(0)
    expect(synAckAt - start).toBeLessThanOrEqual(20)
})
