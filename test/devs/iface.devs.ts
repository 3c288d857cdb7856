// Runs in the DeviceScript VM: the wire formats and the interface compile and behave
// as on Node. The hex frames were built by test/helpers/frames.ts (an independent
// implementation) and are checked byte for byte.
import { describe, test, expect } from "@devicescript/test"
import * as ds from "@devicescript/core"
import { makeConfig } from "../../src/config"
import { allocBytes, allocationCount, bytesEqual, copyBytes, fillBytes, getU16BE } from "../../src/util/bytes"
import { internetChecksum } from "../../src/util/checksum"
import { Interface, IPV4_PAYLOAD_OFFSET } from "../../src/iface/interface"
import { NetPump } from "../../src/iface/pump"
import { NetDevice } from "../../src/driver/net-device"
import { EthernetRepr, ethernetEmit, ethernetParse, ETHERTYPE_IPV4 } from "../../src/wire/ethernet"
import { Ipv4Repr, ipv4Emit, ipv4Parse, parseIpv4, formatIpv4, IPV4_PROTO_ICMP } from "../../src/wire/ipv4"
import { IcmpEchoRepr, icmpEchoEmit, icmpEchoParse, ICMP_ECHO_REQUEST, ICMP_ECHO_REPLY } from "../../src/wire/icmp"
import { ArpRepr, arpParse, arpEmit } from "../../src/wire/arp"

// 10.0.2.33 (02:..:33) asks who has 10.0.2.15 (us, 02:..:02); our reply.
const ARP_REQUEST = "ffffffffffff020000000033080600010800060400010200000000330a0002210000000000000a00020f000000000000000000000000000000000000"
const ARP_REPLY = "020000000033020000000002080600010800060400020200000000020a00020f0200000000330a000221000000000000000000000000000000000000"
// Echo request id 0x77 seq 5 with 32 data bytes, and our reply (IP id 1, DF, TTL 64).
const PING = "02000000000202000000003308004500003c4321000040011f710a0002210a00020f0800607d0077000500070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9"
const PONG = "02000000003302000000000208004500003c00014000400122910a00020f0a0002210000687d0077000500070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9"

function newIface(): Interface {
    return new Interface(makeConfig({ mac: [2, 0, 0, 0, 0, 2], ip: "10.0.2.15", netmask: "255.255.255.0", gateway: "10.0.2.2" }))
}

function takeHex(iface: Interface): string {
    const f = iface.nextTxFrame()
    if (f === null) return "none"
    const copy = allocBytes(f.len)
    copyBytes(copy, 0, f.buf, 0, f.len)
    iface.txDone(f)
    return copy.toString("hex")
}

function feedHex(iface: Interface, hex: string, now: number): void {
    const b = Buffer.from(hex, "hex")
    iface.input(b, b.length, now)
}

class FakeDevice implements NetDevice {
    rx: Buffer[]
    tx: string[]
    constructor() {
        this.rx = []
        this.tx = []
    }
    async init(): Promise<void> {}
    async receive(buf: Buffer): Promise<number> {
        const f = this.rx.shift()
        if (f === undefined) return 0
        copyBytes(buf, 0, f, 0, f.length)
        return f.length
    }
    async transmit(buf: Buffer, len: number): Promise<boolean> {
        const copy = allocBytes(len)
        copyBytes(copy, 0, buf, 0, len)
        this.tx.push(copy.toString("hex"))
        return true
    }
    async linkUp(): Promise<boolean> {
        return true
    }
}

describe("wire formats in the VM", () => {
    test("dotted quads", () => {
        expect(parseIpv4("10.0.2.15")).toBe(0x0a00020f)
        expect(parseIpv4("255.255.255.255")).toBe(0xffffffff)
        expect(parseIpv4("1.2.3")).toBe(-1)
        expect(parseIpv4("1.2.3.256")).toBe(-1)
        expect(formatIpv4(0xc0a80001)).toBe("192.168.0.1")
    })
    test("ethernet, ipv4 and icmp round-trip at frame offsets", async () => {
        const b = allocBytes(1514)
        const e = new EthernetRepr()
        fillBytes(e.dst, 0, 6, 0xaa)
        e.src[5] = 7
        e.etherType = ETHERTYPE_IPV4
        ethernetEmit(e, b, 0)
        const ip = new Ipv4Repr()
        ip.ident = 0xbeef
        ip.dontFragment = true
        ip.ttl = 200
        ip.protocol = IPV4_PROTO_ICMP
        ip.src = 0xc0a80001
        ip.dst = 0xfffffffe
        ip.payloadLen = 1480
        ipv4Emit(ip, b, 14)
        const m = new IcmpEchoRepr()
        m.type = ICMP_ECHO_REQUEST
        m.ident = 0xffff
        m.seq = 0x8001
        m.dataLen = 1472
        for (let i = 0; i < 1472; i++) b[42 + i] = (i * 13) & 0xff
        await ds.sleep(0)
        icmpEchoEmit(m, b, 34)
        const e2 = new EthernetRepr()
        const ip2 = new Ipv4Repr()
        const m2 = new IcmpEchoRepr()
        expect(ethernetParse(b, 0, 1514, e2)).toBe(true)
        expect(e2.dst[3]).toBe(0xaa)
        expect(e2.src[5]).toBe(7)
        expect(ipv4Parse(b, 14, 1500, ip2)).toBe(true)
        expect(ip2.ident).toBe(0xbeef)
        expect(ip2.dst).toBe(0xfffffffe)
        expect(ip2.dontFragment).toBe(true)
        expect(ip2.ttl).toBe(200)
        expect(ip2.payloadLen).toBe(1480)
        expect(icmpEchoParse(b, 34, 1480, m2)).toBe(true)
        expect(m2.seq).toBe(0x8001)
        expect(m2.dataLen).toBe(1472)
        b[1000] ^= 1
        expect(icmpEchoParse(b, 34, 1480, m2)).toBe(false)
        b[20] ^= 0x40
        expect(ipv4Parse(b, 14, 1500, ip2)).toBe(false)
    })
    test("arp round-trip", () => {
        const a = new ArpRepr()
        a.operation = 2
        a.senderMac[0] = 9
        a.senderIp = 0x01020304
        a.targetMac[5] = 0xfe
        a.targetIp = 0xfffffff0
        const b = allocBytes(40)
        arpEmit(a, b, 3)
        const r = new ArpRepr()
        expect(arpParse(b, 3, 28, r)).toBe(true)
        expect(r.operation).toBe(2)
        expect(r.senderMac[0]).toBe(9)
        expect(r.senderIp).toBe(0x01020304)
        expect(r.targetMac[5]).toBe(0xfe)
        expect(r.targetIp).toBe(0xfffffff0)
        expect(arpParse(b, 3, 27, r)).toBe(false)
    })
})

describe("interface in the VM", () => {
    test("ARP request for us gets the exact reply", () => {
        const iface = newIface()
        feedHex(iface, ARP_REQUEST, 0)
        expect(takeHex(iface)).toBe(ARP_REPLY)
        expect(takeHex(iface)).toBe("none")
        expect(iface.counters.arpRequestsForUs).toBe(1)
        expect(iface.arp.count()).toBe(1)
    })
    test("ICMP echo request gets the exact reply", () => {
        const iface = newIface()
        feedHex(iface, ARP_REQUEST, 0)
        takeHex(iface)
        feedHex(iface, PING, 1)
        expect(takeHex(iface)).toBe(PONG)
        expect(iface.counters.icmpEchoRepliesSent).toBe(1)
        expect(iface.counters.internalErrors).toBe(0)
    })
    test("1472-byte ping gets a full-size reply with the same data", async () => {
        const iface = newIface()
        feedHex(iface, ARP_REQUEST, 0)
        takeHex(iface)
        const b = allocBytes(1514)
        const ping = Buffer.from(PING, "hex")
        copyBytes(b, 0, ping, 0, 34)
        const ip = new Ipv4Repr()
        expect(ipv4Parse(ping, 14, ping.length - 14, ip)).toBe(true)
        ip.payloadLen = 1480
        ipv4Emit(ip, b, 14)
        for (let i = 0; i < 1472; i++) b[42 + i] = (i * 31 + 1) & 0xff
        const m = new IcmpEchoRepr()
        m.type = ICMP_ECHO_REQUEST
        m.ident = 3
        m.seq = 4
        m.dataLen = 1472
        icmpEchoEmit(m, b, 34)
        await ds.sleep(0) // byte loops above: let the VM watchdog reset
        const before = allocationCount()
        iface.input(b, 1514, 2)
        const f = iface.nextTxFrame()
        expect(allocationCount()).toBe(before)
        expect(f.len).toBe(1514)
        expect(getU16BE(f.buf, 16)).toBe(1500)
        expect(internetChecksum(f.buf, 14, 20)).toBe(0)
        expect(internetChecksum(f.buf, 34, 1480)).toBe(0)
        expect(f.buf[34]).toBe(ICMP_ECHO_REPLY)
        await ds.sleep(0)
        expect(bytesEqual(f.buf, 42, b, 42, 1472)).toBe(true)
        iface.txDone(f)
    })
    test("sendIpv4 pads short frames with zeros from a dirty pool frame", () => {
        const iface = newIface()
        feedHex(iface, ARP_REQUEST, 0)
        takeHex(iface)
        const f = iface.allocIpv4Frame()
        fillBytes(f.buf, 0, f.buf.length, 0xee)
        f.buf[IPV4_PAYLOAD_OFFSET] = 0x42
        expect(iface.sendIpv4(f, 0x0a000221, 253, 1, 5)).toBe(true)
        const out = iface.nextTxFrame()
        expect(out.len).toBe(60)
        expect(out.buf[IPV4_PAYLOAD_OFFSET]).toBe(0x42)
        let nonZero = 0
        for (let i = IPV4_PAYLOAD_OFFSET + 1; i < 60; i++) if (out.buf[i] !== 0) nonZero++
        expect(nonZero).toBe(0)
        iface.txDone(out)
    })
    test("ARP resolution: request, pending packet, reply, retries and give-up", () => {
        const iface = newIface()
        const f = iface.allocIpv4Frame()
        f.buf[IPV4_PAYLOAD_OFFSET] = 0x99
        expect(iface.sendIpv4(f, 0x0a000221, 17, 1, 0)).toBe(true)
        // Broadcast who-has 10.0.2.33 tell 10.0.2.15.
        expect(takeHex(iface)).toBe("ffffffffffff020000000002080600010800060400010200000000020a00020f0000000000000a000221000000000000000000000000000000000000")
        feedHex(iface, "020000000002020000000033080600010800060400020200000000330a0002210200000000020a00020f", 10)
        const out = iface.nextTxFrame()
        expect(out.buf[5]).toBe(0x33) // now addressed to the peer's MAC
        expect(out.buf[IPV4_PAYLOAD_OFFSET]).toBe(0x99)
        iface.txDone(out)
        // An address that never answers: one request per second, dropped after 3 s.
        const g = iface.allocIpv4Frame()
        expect(iface.sendIpv4(g, 0x0a000263, 17, 1, 100)).toBe(true)
        takeHex(iface)
        let requests = 1
        for (let t = 100; t < 3100; t += 100) {
            iface.poll(t)
            if (takeHex(iface) !== "none") requests++
        }
        expect(requests).toBe(3)
        iface.poll(3100)
        expect(iface.counters.arpResolveTimeouts).toBe(1)
        expect(iface.pool.free()).toBe(3)
        expect(iface.counters.internalErrors).toBe(0)
    })
    test("the pump moves a ping through a device", async () => {
        const iface = newIface()
        const dev = new FakeDevice()
        let clock = 0
        const pump = new NetPump(dev, iface, {
            nowMs: () => clock,
            delayMs: async (ms: number) => {
                clock += ms
            },
        })
        dev.rx.push(Buffer.from(ARP_REQUEST, "hex"))
        dev.rx.push(Buffer.from(PING, "hex"))
        expect(await pump.step()).toBe(true)
        expect(dev.tx.length).toBe(2)
        expect(dev.tx[0]).toBe(ARP_REPLY)
        expect(dev.tx[1]).toBe(PONG)
        expect(await pump.step()).toBe(false)
    })
})
