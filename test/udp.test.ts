import { describe, expect, test } from "vitest"
import { UDP_DATA_OFFSET, UdpHandler, UdpLayer } from "../src/udp/udp-layer"
import { UdpMailbox } from "../src/udp/udp-mailbox"
import { PEER, US, checksum, decodeEthernet, decodeIpv4, drain, feed, ipv4Frame, makeIface, teachArp } from "./helpers/frames"
import { allocationCount } from "../src/util/bytes"

function udp(src: number, dst: number, sport: number, dport: number, data: Buffer, sum = true): Buffer {
    const b = Buffer.alloc(8 + data.length)
    b.writeUInt16BE(sport, 0)
    b.writeUInt16BE(dport, 2)
    b.writeUInt16BE(b.length, 4)
    data.copy(b, 8)
    if (sum) {
        const p = Buffer.alloc(12)
        p.writeUInt32BE(src, 0)
        p.writeUInt32BE(dst, 4)
        p[9] = 17
        p.writeUInt16BE(b.length, 10)
        b.writeUInt16BE(checksum(Buffer.concat([p, b])) || 0xffff, 6)
    }
    return b
}

function frame(src: number, dst: number, sport: number, dport: number, data: Buffer, sum = true): Buffer {
    return ipv4Frame(US.mac, PEER.mac, { src, dst, protocol: 17 }, udp(src, dst, sport, dport, data, sum))
}

class Recorder implements UdpHandler {
    got: string[] = []
    udpInput(buf: Buffer, off: number, len: number, src: number, srcPort: number, dst: number): void {
        this.got.push(`${src.toString(16)}:${srcPort}>${dst.toString(16)} ${buf.subarray(off, off + len).toString()}`)
    }
}

describe("UDP layer", () => {
    test("delivers to the bound port with source, port and data; counts the rest", () => {
        const iface = makeIface()
        const layer = new UdpLayer(iface, 2)
        const r = new Recorder()
        expect(layer.bind(5000, r)).toBe(true)
        feed(iface, frame(PEER.ip, US.ip, 1234, 5000, Buffer.from("hi there")))
        feed(iface, frame(PEER.ip, US.ip, 1234, 5000, Buffer.from("no sum"), false))
        feed(iface, frame(PEER.ip, US.ip, 1234, 5001, Buffer.from("nobody")))
        const bad = frame(PEER.ip, US.ip, 1234, 5000, Buffer.from("corrupt"))
        bad[14 + 20 + 8] ^= 1
        feed(iface, bad)
        const short = frame(PEER.ip, US.ip, 1234, 5000, Buffer.from("x"))
        short.writeUInt16BE(200, 14 + 20 + 4)
        feed(iface, short)
        expect(r.got).toEqual([`a000221:1234>a00020f hi there`, `a000221:1234>a00020f no sum`])
        expect([layer.rxDelivered, layer.rxDropNoPort, layer.rxDropChecksum, layer.rxDropMalformed]).toEqual([2, 1, 1, 1])
    })

    test("the port table is bounded and ports are exclusive", () => {
        const iface = makeIface()
        const layer = new UdpLayer(iface, 2)
        const a = new Recorder()
        expect(layer.bind(1, a)).toBe(true)
        expect(layer.bind(1, new Recorder())).toBe(false)
        expect(layer.bind(2, a)).toBe(true)
        expect(layer.bind(3, a)).toBe(false)
        feed(iface, frame(PEER.ip, US.ip, 9, 3, Buffer.from("none")))
        expect(layer.rxDropNoPort).toBe(1)
        feed(iface, frame(PEER.ip, US.ip, 9, 2, Buffer.from("two")))
        expect(a.got.length).toBe(1)
    })

    test("a mailbox receives into the caller's buffer and holds one datagram", () => {
        const iface = makeIface()
        const layer = new UdpLayer(iface, 4)
        const mine = Buffer.alloc(8)
        const box = new UdpMailbox(mine)
        layer.bind(7, box)
        feed(iface, frame(PEER.ip, US.ip, 40000, 7, Buffer.from("abc")))
        feed(iface, frame(PEER.ip, US.ip, 40000, 7, Buffer.from("second")))
        expect([box.src, box.srcPort, box.dropped]).toEqual([PEER.ip, 40000, 1])
        expect(mine.subarray(0, box.take()).toString()).toBe("abc")
        expect(box.take()).toBe(0)
        feed(iface, frame(PEER.ip, US.ip, 40000, 7, Buffer.from("too long!")))
        expect(box.dropped).toBe(2)
        feed(iface, frame(PEER.ip, US.ip, 40001, 7, Buffer.from("12345678")))
        expect(mine.subarray(0, box.take()).toString()).toBe("12345678")
    })

    test("sends with a correct checksum, unicast via ARP and broadcast without an address", () => {
        const iface = makeIface()
        const layer = new UdpLayer(iface, 1)
        teachArp(iface, PEER)
        const before = allocationCount()
        expect(layer.sendTo(68, PEER.ip, 67, Buffer.from("xhello"), 1, 5, 0)).toBe(true)
        const f = layer.allocFrame()
        f.buf.write("raw", UDP_DATA_OFFSET)
        expect(layer.sendFrame(f, 1, PEER.ip, 2, 3, 0)).toBe(true)
        expect(allocationCount()).toBe(before)
        const out = drain(iface).map((b) => decodeIpv4(decodeEthernet(b).payload))
        expect(out.length).toBe(2)
        expect(out[0].payload).toEqual(udp(US.ip, PEER.ip, 68, 67, Buffer.from("hello")))
        expect(out[1].payload).toEqual(udp(US.ip, PEER.ip, 1, 2, Buffer.from("raw")))
        iface.setAddress(0, 0, 0)
        expect(layer.sendTo(68, 0xffffffff, 67, Buffer.from("disc"), 0, 4, 0)).toBe(true)
        const [b] = drain(iface)
        expect(decodeEthernet(b).dst).toEqual([255, 255, 255, 255, 255, 255])
        const ip = decodeIpv4(decodeEthernet(b).payload)
        expect([ip.src, ip.dst]).toEqual([0, 0xffffffff])
        expect(ip.payload).toEqual(udp(0, 0xffffffff, 68, 67, Buffer.from("disc")))
        // Too long for a frame: refused, the frame goes back.
        expect(layer.sendTo(1, PEER.ip, 2, Buffer.alloc(1500), 0, 1500, 0)).toBe(false)
        expect(iface.pool.free()).toBe(iface.pool.frames.length)
    })

    test("with no address, datagrams to any destination reach the port (DHCP offers to the offered address)", () => {
        const iface = makeIface({ ip: "0.0.0.0", netmask: "0.0.0.0", gateway: "0.0.0.0" })
        const layer = new UdpLayer(iface, 1)
        const r = new Recorder()
        layer.bind(68, r)
        feed(iface, frame(PEER.ip, 0x0a000032, 67, 68, Buffer.from("offer")))
        expect(r.got).toEqual([`a000221:67>a000032 offer`])
    })
})
