// Runs in the DeviceScript VM: the TCP layer compiles there, and two layers joined by a
// tiny in-memory wire complete a handshake, move data both ways and close. Kept small
// for the VM watchdog (~10,000 loop iterations per fiber without suspension).
import { describe, test, expect } from "@devicescript/test"
import { makeConfig } from "../../src/config"
import { allocBytes, allocationCount, copyBytes } from "../../src/util/bytes"
import { TcpLayer } from "../../src/tcp/tcp-layer"
import { TcpIpPort, TcpTxFrame } from "../../src/tcp/ip-port"
import { TcpState } from "../../src/tcp/state"
import { RECV_EOF } from "../../src/tcp/errors"
import { halfSipHash } from "../../src/tcp/halfsiphash"
import { seqAdd, seqLt } from "../../src/tcp/seq"
import { parseTcp, TcpRepr, TCP_OK, emitTcp, fillTcpChecksum } from "../../src/wire/tcp"
import { Interface } from "../../src/iface/interface"

const OFF = 34

class Frame implements TcpTxFrame {
    buf: Buffer
    len: number
    constructor() {
        this.buf = allocBytes(1514)
        this.len = 0
    }
}

/** An IP port whose sent segments wait in a small queue for the test to deliver. */
class Port implements TcpIpPort {
    ip: number
    mtu: number
    handler: TcpLayer
    frames: Frame[]
    queue: Buffer[]
    lens: number[]
    constructor(ip: number) {
        this.ip = ip
        this.mtu = 1500
        this.handler = null
        this.frames = []
        this.queue = []
        this.lens = []
        for (let i = 0; i < 8; i++) {
            this.queue.push(allocBytes(1500))
            this.lens.push(0)
        }
        this.frames.push(new Frame())
    }
    allocIpv4Frame(): TcpTxFrame {
        return this.frames[0]
    }
    releaseFrame(f: TcpTxFrame): void {}
    sendIpv4(f: TcpTxFrame, dst: number, protocol: number, len: number, now: number): boolean {
        for (let i = 0; i < this.lens.length; i++) {
            if (this.lens[i] === 0) {
                copyBytes(this.queue[i], 0, f.buf, OFF, len)
                this.lens[i] = len
                return true
            }
        }
        return false
    }
    registerIpv4Handler(p: number, h: any): boolean {
        this.handler = h
        return true
    }
    /** Hands every queued segment to the other side; returns how many. */
    flushTo(other: Port, now: number): number {
        let n = 0
        for (let i = 0; i < this.lens.length; i++) {
            const len = this.lens[i]
            if (len === 0) continue
            this.lens[i] = 0
            other.handler.ipv4Input(other, this.queue[i], 0, len, this.ip, other.ip, now)
            n++
        }
        return n
    }
}

function cfg() {
    return makeConfig({ tcpConnections: 2, tcpListeners: 1, tcpSynQueue: 2, tcpSendBuffer: 1024, tcpRecvBuffer: 1024, tcpSecretSeed: 5 })
}

function pump(a: Port, b: Port, now: number): void {
    for (let i = 0; i < 20; i++) {
        const n = a.flushTo(b, now) + b.flushTo(a, now)
        if (n === 0) return
    }
}

describe("tcp in the VM", () => {
    test("halfsiphash and sequence numbers", () => {
        expect(halfSipHash(0x03020100, 0x07060504, 0x03020100, 0x07060504, 0, 0, 2)).toBe(0x8f84b8d0)
        expect(seqAdd(0xffffffff, 2)).toBe(1)
        expect(seqLt(0xfffffff0, 5)).toBe(true)
    })

    test("segment parse/emit round trip", () => {
        const r = new TcpRepr()
        r.srcPort = 1234
        r.dstPort = 80
        r.seq = 0xfedcba98
        r.ack = 7
        r.flags = 0x12
        r.window = 1000
        r.mss = 1460
        const b = allocBytes(40)
        const h = emitTcp(r, b, 0)
        fillTcpChecksum(b, 0, h, 1, 2)
        const q = new TcpRepr()
        expect(parseTcp(b, 0, h, 1, 2, q, true)).toBe(TCP_OK)
        expect(q.seq).toBe(0xfedcba98)
        expect(q.mss).toBe(1460)
    })

    test("handshake, data both ways, close", () => {
        const pa = new Port(0x0a000001)
        const pb = new Port(0x0a000002)
        const a = new TcpLayer(pa, cfg())
        const b = new TcpLayer(pb, cfg())
        let now = 1000
        const lid = a.listen(80, 2, false)
        expect(lid >= 0).toBe(true)
        const cid = b.connect(0x0a000001, 80, now)
        expect(cid >= 0).toBe(true)
        pump(pb, pa, now)
        const sid = a.accept(lid)
        expect(sid >= 0).toBe(true)
        expect(a.state(sid)).toBe(TcpState.Established)
        expect(b.state(cid)).toBe(TcpState.Established)

        const msg = Buffer.from("hello from the VM")
        const buf = allocBytes(64)
        const before = allocationCount()
        let sent = 0
        for (let round = 0; round < 3; round++) {
            expect(b.send(cid, msg, 0, msg.length, now)).toBe(msg.length)
            sent += msg.length
            pump(pb, pa, now)
            now += 300 // past the delayed ACK
            a.poll(now)
            b.poll(now)
            pump(pa, pb, now)
        }
        let got = 0
        for (let i = 0; i < 10; i++) {
            const n = a.recv(sid, buf, 0, 64, now)
            if (n <= 0) break
            got += n
        }
        expect(got).toBe(sent)
        expect(buf[0]).toBe(0x68) // 'h'
        expect(a.send(sid, msg, 0, 5, now)).toBe(5)
        pump(pa, pb, now)
        expect(b.recv(cid, buf, 0, 64, now)).toBe(5)
        expect(allocationCount()).toBe(before)

        b.close(cid, now)
        pump(pb, pa, now)
        expect(a.recv(sid, buf, 0, 64, now)).toBe(RECV_EOF)
        a.close(sid, now)
        pump(pa, pb, now)
        expect(a.pollAt() > now).toBe(true)
    })

    test("works on the real Interface type", () => {
        // The layer registers itself as the interface's TCP handler.
        const iface = new Interface(makeConfig({ ip: "10.0.2.15" }))
        const t = new TcpLayer(iface, cfg())
        expect(t.listen(7, 1, false) >= 0).toBe(true)
    })
})
