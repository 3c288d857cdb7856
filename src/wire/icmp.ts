// ICMP messages (RFC 792). We parse any message far enough to check it (length and
// checksum over the whole message) and read its type/code; identifier and sequence
// number are bytes 4..7, meaningful for echo request/reply. Data follows the 8-byte header.

import { getU16BE, setU16BE } from "../util/bytes"
import { internetChecksum } from "../util/checksum"

export const ICMP_HEADER_LEN = 8
export const ICMP_ECHO_REPLY = 0
export const ICMP_DEST_UNREACHABLE = 3
export const ICMP_ECHO_REQUEST = 8

/** icmpCheck results. */
export const ICMP_OK = 0
export const ICMP_ERR_SHORT = 1
export const ICMP_ERR_CHECKSUM = 2

/** @devsWhenUsed */
export class IcmpEchoRepr {
    type: number
    code: number
    ident: number
    seq: number
    /** Bytes after the 8-byte header. */
    dataLen: number
    constructor() {
        this.type = 0
        this.code = 0
        this.ident = 0
        this.seq = 0
        this.dataLen = 0
    }
}

/** Validates the message buf[off..off+len): ICMP_OK or the reason. */
export function icmpCheck(buf: Buffer, off: number, len: number): number {
    if (len < ICMP_HEADER_LEN || off < 0 || off + len > buf.length) return ICMP_ERR_SHORT
    if (internetChecksum(buf, off, len) !== 0) return ICMP_ERR_CHECKSUM
    return ICMP_OK
}

/** Validates and reads the header of the whole message buf[off..off+len). */
export function icmpEchoParse(buf: Buffer, off: number, len: number, out: IcmpEchoRepr): boolean {
    if (icmpCheck(buf, off, len) !== ICMP_OK) return false
    out.type = buf[off]
    out.code = buf[off + 1]
    out.ident = getU16BE(buf, off + 4)
    out.seq = getU16BE(buf, off + 6)
    out.dataLen = len - ICMP_HEADER_LEN
    return true
}

/**
 * Writes the 8-byte header at buf[off] and the checksum over it and the repr.dataLen
 * data bytes that the caller has already placed at buf[off + 8]. Returns the message length.
 */
export function icmpEchoEmit(repr: IcmpEchoRepr, buf: Buffer, off: number): number {
    buf[off] = repr.type & 0xff
    buf[off + 1] = repr.code & 0xff
    buf[off + 2] = 0
    buf[off + 3] = 0
    setU16BE(buf, off + 4, repr.ident)
    setU16BE(buf, off + 6, repr.seq)
    const len = ICMP_HEADER_LEN + repr.dataLen
    setU16BE(buf, off + 2, internetChecksum(buf, off, len))
    return len
}
