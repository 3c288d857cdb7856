// IPv4 header (RFC 791 section 3.1). Addresses are unsigned 32-bit numbers (`>>> 0`).
//
// Parsing validates everything a receiver must check (RFC 1122 section 3.2.1):
// version, header length, total length against the buffer, header checksum.
// Options are skipped (headerLen says where the payload starts); fragments are
// exposed (moreFragments, fragmentOffset) for the interface to drop.
// Emitting always writes a 20-byte header: we never send options.

import { getU16BE, getU32BE, setU16BE, setU32BE } from "../util/bytes"
import { internetChecksum } from "../util/checksum"

export const IPV4_HEADER_LEN = 20
export const IPV4_PROTO_ICMP = 1
export const IPV4_PROTO_TCP = 6
export const IPV4_PROTO_UDP = 17
export const IPV4_BROADCAST = 0xffffffff

/** ipv4Check results: 0 is a valid header, the rest say why it is not. */
export const IPV4_OK = 0
export const IPV4_ERR_SHORT = 1
export const IPV4_ERR_VERSION = 2
export const IPV4_ERR_HEADER_LEN = 3
export const IPV4_ERR_TOTAL_LEN = 4
export const IPV4_ERR_CHECKSUM = 5

const FLAG_DF = 0x4000
const FLAG_MF = 0x2000
const FRAG_OFFSET_MASK = 0x1fff

/** @devsWhenUsed */
export class Ipv4Repr {
    /** Type of service / DSCP+ECN byte. */
    tos: number
    ident: number
    dontFragment: boolean
    moreFragments: boolean
    /** Offset of this fragment in bytes (a multiple of 8). */
    fragmentOffset: number
    ttl: number
    protocol: number
    src: number
    dst: number
    /** Header length in bytes incl. options (parse); emit always writes 20. */
    headerLen: number
    /** Total length minus header length: the payload starts at off + headerLen. */
    payloadLen: number
    constructor() {
        this.tos = 0
        this.ident = 0
        this.dontFragment = false
        this.moreFragments = false
        this.fragmentOffset = 0
        this.ttl = 0
        this.protocol = 0
        this.src = 0
        this.dst = 0
        this.headerLen = IPV4_HEADER_LEN
        this.payloadLen = 0
    }
}

/** Validates the header at buf[off..off+len) (len = bytes available); IPV4_OK or the reason. */
export function ipv4Check(buf: Buffer, off: number, len: number): number {
    if (len < IPV4_HEADER_LEN || off < 0 || off + len > buf.length) return IPV4_ERR_SHORT
    const vihl = buf[off]
    if (vihl >> 4 !== 4) return IPV4_ERR_VERSION
    const headerLen = (vihl & 0x0f) * 4
    if (headerLen < IPV4_HEADER_LEN || headerLen > len) return IPV4_ERR_HEADER_LEN
    const totalLen = getU16BE(buf, off + 2)
    // Bytes after totalLen are link-layer padding; fewer bytes mean a truncated datagram.
    if (totalLen < headerLen || totalLen > len) return IPV4_ERR_TOTAL_LEN
    if (internetChecksum(buf, off, headerLen) !== 0) return IPV4_ERR_CHECKSUM
    return IPV4_OK
}

/** Validates and reads the header. False when ipv4Check would report an error. */
export function ipv4Parse(buf: Buffer, off: number, len: number, out: Ipv4Repr): boolean {
    if (ipv4Check(buf, off, len) !== IPV4_OK) return false
    const headerLen = (buf[off] & 0x0f) * 4
    const flagsFrag = getU16BE(buf, off + 6)
    out.tos = buf[off + 1]
    out.ident = getU16BE(buf, off + 4)
    out.dontFragment = (flagsFrag & FLAG_DF) !== 0
    out.moreFragments = (flagsFrag & FLAG_MF) !== 0
    out.fragmentOffset = (flagsFrag & FRAG_OFFSET_MASK) * 8
    out.ttl = buf[off + 8]
    out.protocol = buf[off + 9]
    out.src = getU32BE(buf, off + 12)
    out.dst = getU32BE(buf, off + 16)
    out.headerLen = headerLen
    out.payloadLen = getU16BE(buf, off + 2) - headerLen
    return true
}

/** Writes a 20-byte header with its checksum at buf[off]; returns 20. */
export function ipv4Emit(repr: Ipv4Repr, buf: Buffer, off: number): number {
    buf[off] = 0x45
    buf[off + 1] = repr.tos & 0xff
    setU16BE(buf, off + 2, IPV4_HEADER_LEN + repr.payloadLen)
    setU16BE(buf, off + 4, repr.ident)
    let flagsFrag = (repr.fragmentOffset >> 3) & FRAG_OFFSET_MASK
    if (repr.dontFragment) flagsFrag |= FLAG_DF
    if (repr.moreFragments) flagsFrag |= FLAG_MF
    setU16BE(buf, off + 6, flagsFrag)
    buf[off + 8] = repr.ttl & 0xff
    buf[off + 9] = repr.protocol & 0xff
    buf[off + 10] = 0
    buf[off + 11] = 0
    setU32BE(buf, off + 12, repr.src)
    setU32BE(buf, off + 16, repr.dst)
    const sum = internetChecksum(buf, off, IPV4_HEADER_LEN)
    setU16BE(buf, off + 10, sum)
    return IPV4_HEADER_LEN
}

/**
 * Never the address of a host on the wire: 127.0.0.0/8 (loopback: RFC 1122 section 3.2.1.3,
 * it must not appear outside a host), 224.0.0.0/4 (multicast) and 240.0.0.0/4 (reserved,
 * 255.255.255.255 included).
 */
export function ipv4IsNotHost(addr: number): boolean {
    return addr >>> 28 >= 0xe || addr >>> 24 === 127
}

/** Parses a dotted quad ("10.0.2.15"). Returns -1 when malformed. For configuration, not packets. */
export function parseIpv4(s: string): number {
    let result = 0
    let part = 0
    let digits = 0
    let parts = 0
    for (let i = 0; i <= s.length; i++) {
        const c = i < s.length ? s.charCodeAt(i) : 46
        if (c === 46) {
            if (digits === 0 || parts === 4) return -1
            result = result * 256 + part
            parts++
            part = 0
            digits = 0
        } else if (c >= 48 && c <= 57) {
            part = part * 10 + (c - 48)
            digits++
            if (part > 255 || digits > 3) return -1
        } else {
            return -1
        }
    }
    if (parts !== 4) return -1
    return result >>> 0
}

/** Formats an address as a dotted quad. */
export function formatIpv4(addr: number): string {
    return (addr >>> 24) + "." + ((addr >>> 16) & 0xff) + "." + ((addr >>> 8) & 0xff) + "." + (addr & 0xff)
}
