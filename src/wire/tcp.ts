// TCP header: parse and emit (RFC 9293 §3.1), checksum over the IPv4 pseudo-header.
//
// TcpRepr is a preallocated, reusable description of one segment: parse fills it from
// bytes, emit writes it as bytes. Options: MSS (RFC 9293 §3.7.1) is parsed and emitted;
// window scale (RFC 7323), SACK-permitted (RFC 2018) and timestamps (RFC 7323) are
// parsed and emitted so a segment survives a round trip, but the connection code never
// offers them, so a peer never uses them (RFC 7323 §1.3 / RFC 2018: only when both
// sides offer). The urgent pointer is carried but ignored (RFC 6093).

import { getU16BE, getU32BE, setU16BE, setU32BE } from "../util/bytes"
import { checksumAdd, checksumAddU16, checksumAddU32, checksumFinish } from "../util/checksum"

export const IPPROTO_TCP = 6
export const TCP_HEADER_LEN = 20
/** Largest header: data offset 15 words. */
export const TCP_MAX_HEADER_LEN = 60

export const TCP_FIN = 0x01
export const TCP_SYN = 0x02
export const TCP_RST = 0x04
export const TCP_PSH = 0x08
export const TCP_ACK = 0x10
export const TCP_URG = 0x20
export const TCP_ECE = 0x40
export const TCP_CWR = 0x80

const OPT_EOL = 0
const OPT_NOP = 1
const OPT_MSS = 2
const OPT_WSCALE = 3
const OPT_SACK_PERMITTED = 4
const OPT_SACK = 5
const OPT_TIMESTAMPS = 8

/** parseTcp() results. */
export const TCP_OK = 0
export const TCP_ERR_TRUNCATED = 1
export const TCP_ERR_DATA_OFFSET = 2
export const TCP_ERR_OPTION = 3
export const TCP_ERR_CHECKSUM = 4

/** @devsWhenUsed */
export class TcpRepr {
    // Every field is set by clear(), which the constructor calls (initialisers here would
    // repeat clear()'s code in the constructor).
    srcPort: number
    dstPort: number
    seq: number
    ack: number
    /** Flag bits TCP_FIN .. TCP_CWR. */
    flags: number
    window: number
    urgent: number
    /** MSS option value; 0 = absent. */
    mss: number
    /** Window-scale shift; -1 = absent. */
    windowScale: number
    sackPermitted: boolean
    hasTimestamps: boolean
    tsVal: number
    tsEcr: number
    /** Where the payload is in the parsed buffer, and how long. */
    payloadOff: number
    payloadLen: number

    constructor() {
        this.clear()
    }

    /** Resets every field to "empty segment, no options". */
    clear(): void {
        this.srcPort = 0
        this.dstPort = 0
        this.seq = 0
        this.ack = 0
        this.flags = 0
        this.window = 0
        this.urgent = 0
        this.mss = 0
        this.windowScale = -1
        this.sackPermitted = false
        this.hasTimestamps = false
        this.tsVal = 0
        this.tsEcr = 0
        this.payloadOff = 0
        this.payloadLen = 0
    }

    /** Sequence space the segment occupies: payload plus one each for SYN and FIN. */
    segLen(): number {
        let n = this.payloadLen
        if (this.flags & TCP_SYN) n++
        if (this.flags & TCP_FIN) n++
        return n
    }
}

/** Header length emitTcp() will write for repr (options padded to 32 bits). */
export function tcpHeaderLen(repr: TcpRepr): number {
    let n = TCP_HEADER_LEN
    if (repr.mss > 0) n += 4
    if (repr.windowScale >= 0) n += 4
    if (repr.sackPermitted) n += 4
    if (repr.hasTimestamps) n += 12
    return n
}

/**
 * Parses the segment buf[off..off+len) into out. Checks the data offset, every option's
 * length and (when srcIp/dstIp are given and verify is true) the checksum with the
 * pseudo-header. Returns TCP_OK or a TCP_ERR_* code; out is only meaningful on TCP_OK.
 */
export function parseTcp(buf: Buffer, off: number, len: number, srcIp: number, dstIp: number, out: TcpRepr, verify: boolean): number {
    if (len < TCP_HEADER_LEN) return TCP_ERR_TRUNCATED
    const hlen = (buf[off + 12] >> 4) * 4
    if (hlen < TCP_HEADER_LEN || hlen > len) return TCP_ERR_DATA_OFFSET
    if (verify && tcpChecksum(buf, off, len, srcIp, dstIp) !== 0) return TCP_ERR_CHECKSUM
    out.srcPort = getU16BE(buf, off)
    out.dstPort = getU16BE(buf, off + 2)
    out.seq = getU32BE(buf, off + 4)
    out.ack = getU32BE(buf, off + 8)
    out.flags = buf[off + 13]
    out.window = getU16BE(buf, off + 14)
    out.urgent = getU16BE(buf, off + 18)
    out.mss = 0
    out.windowScale = -1
    out.sackPermitted = false
    out.hasTimestamps = false
    out.tsVal = 0
    out.tsEcr = 0
    out.payloadOff = off + hlen
    out.payloadLen = len - hlen
    return parseOptions(buf, off + TCP_HEADER_LEN, off + hlen, out)
}

function parseOptions(buf: Buffer, p: number, end: number, out: TcpRepr): number {
    while (p < end) {
        const kind = buf[p]
        if (kind === OPT_EOL) break
        if (kind === OPT_NOP) {
            p++
            continue
        }
        if (p + 1 >= end) return TCP_ERR_OPTION
        const olen = buf[p + 1]
        if (olen < 2 || p + olen > end) return TCP_ERR_OPTION
        if (kind === OPT_MSS) {
            if (olen !== 4) return TCP_ERR_OPTION
            out.mss = getU16BE(buf, p + 2)
        } else if (kind === OPT_WSCALE) {
            if (olen !== 3) return TCP_ERR_OPTION
            out.windowScale = buf[p + 2]
        } else if (kind === OPT_SACK_PERMITTED) {
            if (olen !== 2) return TCP_ERR_OPTION
            out.sackPermitted = true
        } else if (kind === OPT_TIMESTAMPS) {
            if (olen !== 10) return TCP_ERR_OPTION
            out.hasTimestamps = true
            out.tsVal = getU32BE(buf, p + 2)
            out.tsEcr = getU32BE(buf, p + 6)
        } else if (kind === OPT_SACK) {
            // SACK blocks are 8 bytes each; we never negotiate SACK, so only check the shape.
            if ((olen - 2) % 8 !== 0) return TCP_ERR_OPTION
        }
        // Unknown kinds are skipped by their length (RFC 9293 §3.1, MUST-6/MUST-68).
        p += olen
    }
    return TCP_OK
}

/**
 * Writes repr's header (with options) at buf[off..]. The checksum field is left zero:
 * call fillTcpChecksum() once the payload is in place. Returns the header length.
 */
export function emitTcp(repr: TcpRepr, buf: Buffer, off: number): number {
    const hlen = tcpHeaderLen(repr)
    setU16BE(buf, off, repr.srcPort)
    setU16BE(buf, off + 2, repr.dstPort)
    setU32BE(buf, off + 4, repr.seq)
    setU32BE(buf, off + 8, repr.ack)
    buf[off + 12] = (hlen / 4) << 4
    buf[off + 13] = repr.flags & 0xff
    setU16BE(buf, off + 14, repr.window)
    setU16BE(buf, off + 16, 0)
    setU16BE(buf, off + 18, repr.urgent)
    let p = off + TCP_HEADER_LEN
    if (repr.mss > 0) {
        buf[p] = OPT_MSS
        buf[p + 1] = 4
        setU16BE(buf, p + 2, repr.mss)
        p += 4
    }
    if (repr.windowScale >= 0) {
        buf[p] = OPT_NOP
        buf[p + 1] = OPT_WSCALE
        buf[p + 2] = 3
        buf[p + 3] = repr.windowScale
        p += 4
    }
    if (repr.sackPermitted) {
        buf[p] = OPT_NOP
        buf[p + 1] = OPT_NOP
        buf[p + 2] = OPT_SACK_PERMITTED
        buf[p + 3] = 2
        p += 4
    }
    if (repr.hasTimestamps) {
        buf[p] = OPT_NOP
        buf[p + 1] = OPT_NOP
        buf[p + 2] = OPT_TIMESTAMPS
        buf[p + 3] = 10
        setU32BE(buf, p + 4, repr.tsVal)
        setU32BE(buf, p + 8, repr.tsEcr)
    }
    return hlen
}

/** Sum of the IPv4 pseudo-header (RFC 9293 §3.1): addresses, protocol, TCP length. */
function pseudoHeaderSum(srcIp: number, dstIp: number, len: number): number {
    let sum = checksumAddU32(0, srcIp)
    sum = checksumAddU32(sum, dstIp)
    sum = checksumAddU16(sum, IPPROTO_TCP)
    return checksumAddU16(sum, len)
}

/** Checksum of the segment buf[off..off+len) with its pseudo-header; 0 when the stored checksum is right. */
export function tcpChecksum(buf: Buffer, off: number, len: number, srcIp: number, dstIp: number): number {
    return checksumFinish(checksumAdd(pseudoHeaderSum(srcIp, dstIp, len), buf, off, len))
}

/** Computes and stores the checksum of the segment buf[off..off+len) (header and payload in place). */
export function fillTcpChecksum(buf: Buffer, off: number, len: number, srcIp: number, dstIp: number): void {
    setU16BE(buf, off + 16, 0)
    setU16BE(buf, off + 16, tcpChecksum(buf, off, len, srcIp, dstIp))
}
