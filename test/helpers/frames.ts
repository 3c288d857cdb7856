// Frame builders and decoders for tests: written independently of src/wire so the
// tests compare the stack against a second implementation, not against itself.
// Node only (uses Node Buffer methods freely). Other suites (TCP, UDP, driver) reuse it.

import { Interface } from "../../src/iface/interface"
import { makeConfig, StackConfig } from "../../src/config"

export type Mac = number[]

export const BROADCAST_MAC: Mac = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
export const ZERO_MAC: Mac = [0, 0, 0, 0, 0, 0]

/** "10.0.2.15" -> unsigned 32-bit number. */
export function ip(s: string): number {
    const p = s.split(".").map((x) => parseInt(x, 10))
    if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) throw new Error("bad ip " + s)
    return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0
}

export function ipStr(n: number): string {
    return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join(".")
}

/** "02:00:00:00:00:01" -> [2,0,0,0,0,1]. */
export function mac(s: string): Mac {
    const p = s.split(":").map((x) => parseInt(x, 16))
    if (p.length !== 6 || p.some((x) => !(x >= 0 && x <= 255))) throw new Error("bad mac " + s)
    return p
}

/** RFC 1071 checksum, computed from the definition (not src/util/checksum). */
export function checksum(data: Uint8Array, start = 0, end = data.length, initial = 0): number {
    let sum = initial
    for (let i = start; i < end; i += 2) {
        sum += (data[i] << 8) | (i + 1 < end ? data[i + 1] : 0)
        sum = (sum & 0xffff) + (sum >>> 16)
    }
    return ~sum & 0xffff
}

// ------------------------------------------------------------------ builders

export interface EthernetFields {
    dst: Mac
    src: Mac
    type: number
}

/** Ethernet II frame; padded with zeros to 60 bytes unless pad is false. */
export function ethernet(f: EthernetFields, payload: Uint8Array, pad = true): Buffer {
    const len = Math.max(14 + payload.length, pad ? 60 : 0)
    const b = Buffer.alloc(len)
    Buffer.from(f.dst).copy(b, 0)
    Buffer.from(f.src).copy(b, 6)
    b.writeUInt16BE(f.type, 12)
    Buffer.from(payload).copy(b, 14)
    return b
}

export interface ArpFields {
    op: number // 1 request, 2 reply
    senderMac: Mac
    senderIp: number
    targetMac: Mac
    targetIp: number
}

/** The 28-byte ARP packet (Ethernet/IPv4). */
export function arpPacket(a: ArpFields): Buffer {
    const b = Buffer.alloc(28)
    b.writeUInt16BE(1, 0)
    b.writeUInt16BE(0x0800, 2)
    b[4] = 6
    b[5] = 4
    b.writeUInt16BE(a.op, 6)
    Buffer.from(a.senderMac).copy(b, 8)
    b.writeUInt32BE(a.senderIp >>> 0, 14)
    Buffer.from(a.targetMac).copy(b, 18)
    b.writeUInt32BE(a.targetIp >>> 0, 24)
    return b
}

/** A whole ARP frame; ethDst defaults to broadcast for requests, targetMac for replies. */
export function arpFrame(a: ArpFields, ethDst?: Mac, pad = true): Buffer {
    const dst = ethDst ?? (a.op === 1 ? BROADCAST_MAC : a.targetMac)
    return ethernet({ dst, src: a.senderMac, type: 0x0806 }, arpPacket(a), pad)
}

export interface Ipv4Fields {
    src: number
    dst: number
    protocol: number
    ttl?: number
    id?: number
    tos?: number
    df?: boolean
    mf?: boolean
    fragOffset?: number // bytes, multiple of 8
    options?: Uint8Array // length multiple of 4
}

/** An IPv4 datagram with a correct header checksum. */
export function ipv4Packet(h: Ipv4Fields, payload: Uint8Array): Buffer {
    const opts = h.options ?? new Uint8Array(0)
    const hl = 20 + opts.length
    const b = Buffer.alloc(hl + payload.length)
    b[0] = 0x40 | (hl / 4)
    b[1] = h.tos ?? 0
    b.writeUInt16BE(b.length, 2)
    b.writeUInt16BE(h.id ?? 0, 4)
    let ff = ((h.fragOffset ?? 0) / 8) & 0x1fff
    if (h.df) ff |= 0x4000
    if (h.mf) ff |= 0x2000
    b.writeUInt16BE(ff, 6)
    b[8] = h.ttl ?? 64
    b[9] = h.protocol
    b.writeUInt32BE(h.src >>> 0, 12)
    b.writeUInt32BE(h.dst >>> 0, 16)
    Buffer.from(opts).copy(b, 20)
    b.writeUInt16BE(checksum(b, 0, hl), 10)
    Buffer.from(payload).copy(b, hl)
    return b
}

export interface IcmpEchoFields {
    type: number // 8 request, 0 reply
    code?: number
    id: number
    seq: number
    data: Uint8Array
}

/** An ICMP echo message with a correct checksum. */
export function icmpEcho(m: IcmpEchoFields): Buffer {
    const b = Buffer.alloc(8 + m.data.length)
    b[0] = m.type
    b[1] = m.code ?? 0
    b.writeUInt16BE(m.id, 4)
    b.writeUInt16BE(m.seq, 6)
    Buffer.from(m.data).copy(b, 8)
    b.writeUInt16BE(checksum(b), 2)
    return b
}

/** Bytes 0, 1, 2, ... (mod 256): recognisable payloads. */
export function pattern(len: number, seed = 0): Buffer {
    const b = Buffer.alloc(len)
    for (let i = 0; i < len; i++) b[i] = (i * 7 + seed) & 0xff
    return b
}

export interface PingFields {
    ethDst: Mac
    ethSrc: Mac
    src: number
    dst: number
    id?: number
    seq?: number
    data?: Uint8Array
    ipId?: number
    ttl?: number
    type?: number
    df?: boolean
}

/** A whole Ethernet frame with an ICMP echo request (or reply with type 0). */
export function pingFrame(p: PingFields, pad = true): Buffer {
    const icmp = icmpEcho({ type: p.type ?? 8, id: p.id ?? 0x1234, seq: p.seq ?? 1, data: p.data ?? pattern(56) })
    const ipv4 = ipv4Packet({ src: p.src, dst: p.dst, protocol: 1, id: p.ipId ?? 0x4321, ttl: p.ttl ?? 64, df: p.df }, icmp)
    return ethernet({ dst: p.ethDst, src: p.ethSrc, type: 0x0800 }, ipv4, pad)
}

/** An Ethernet frame carrying an IPv4 datagram. */
export function ipv4Frame(ethDst: Mac, ethSrc: Mac, h: Ipv4Fields, payload: Uint8Array, pad = true): Buffer {
    return ethernet({ dst: ethDst, src: ethSrc, type: 0x0800 }, ipv4Packet(h, payload), pad)
}

// ------------------------------------------------------------------ decoders

export interface DecodedEthernet {
    dst: Mac
    src: Mac
    type: number
    payload: Buffer
}

export function decodeEthernet(b: Buffer): DecodedEthernet {
    return { dst: [...b.subarray(0, 6)], src: [...b.subarray(6, 12)], type: b.readUInt16BE(12), payload: b.subarray(14) }
}

export function decodeArp(b: Buffer): ArpFields {
    return {
        op: b.readUInt16BE(6),
        senderMac: [...b.subarray(8, 14)],
        senderIp: b.readUInt32BE(14),
        targetMac: [...b.subarray(18, 24)],
        targetIp: b.readUInt32BE(24),
    }
}

export interface DecodedIpv4 extends Required<Omit<Ipv4Fields, "options">> {
    headerLen: number
    totalLen: number
    checksumOk: boolean
    payload: Buffer
}

export function decodeIpv4(b: Buffer): DecodedIpv4 {
    const hl = (b[0] & 0x0f) * 4
    const total = b.readUInt16BE(2)
    const ff = b.readUInt16BE(6)
    return {
        headerLen: hl,
        totalLen: total,
        tos: b[1],
        id: b.readUInt16BE(4),
        df: (ff & 0x4000) !== 0,
        mf: (ff & 0x2000) !== 0,
        fragOffset: (ff & 0x1fff) * 8,
        ttl: b[8],
        protocol: b[9],
        src: b.readUInt32BE(12),
        dst: b.readUInt32BE(16),
        checksumOk: checksum(b, 0, hl) === 0,
        payload: b.subarray(hl, total),
    }
}

// ------------------------------------------------------------------ a test interface

/** Addresses the test interface and its neighbours use. */
export const US = { mac: mac("02:00:00:00:00:02"), ip: ip("10.0.2.15") }
export const GW = { mac: mac("02:00:00:00:00:01"), ip: ip("10.0.2.2") }
export const PEER = { mac: mac("02:00:00:00:00:33"), ip: ip("10.0.2.33") }
export const FAR = { ip: ip("192.0.2.7") } // off-subnet (TEST-NET-1)

export function testConfig(overrides: Partial<StackConfig> = {}): StackConfig {
    return makeConfig({ mac: US.mac, ip: ipStr(US.ip), netmask: "255.255.255.0", gateway: ipStr(GW.ip), ...overrides })
}

export function makeIface(overrides: Partial<StackConfig> = {}): Interface {
    return new Interface(testConfig(overrides))
}

/** Feeds a frame into the interface. */
export function feed(iface: Interface, frame: Buffer, now = 0): void {
    iface.input(frame, frame.length, now)
}

/** Takes every queued frame out of the interface (as the pump would) and returns copies. */
export function drain(iface: Interface): Buffer[] {
    const out: Buffer[] = []
    for (let f = iface.nextTxFrame(); f !== null; f = iface.nextTxFrame()) {
        out.push(Buffer.from(f.buf.subarray(0, f.len)))
        iface.txDone(f)
    }
    return out
}

/** Teaches the interface a neighbour's MAC with an ARP request for us, and drains the reply. */
export function teachArp(iface: Interface, who: { mac: Mac; ip: number }, now = 0): void {
    feed(iface, arpFrame({ op: 1, senderMac: who.mac, senderIp: who.ip, targetMac: ZERO_MAC, targetIp: US.ip }), now)
    drain(iface)
}
