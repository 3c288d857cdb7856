// UDP header (RFC 768): source port, destination port, length, checksum; 8 bytes.
//
// The checksum covers a pseudo-header (source and destination address, protocol 17,
// UDP length), the header and the data. On IPv4 a zero checksum field means "none"
// (RFC 768; RFC 1122 section 4.1.3.4 lets a receiver accept it), so a computed sum of
// 0 is sent as 0xffff, its one's-complement twin.

import { getU16BE, setU16BE } from "../util/bytes"
import { checksumAdd, checksumAddU32, checksumFinish } from "../util/checksum"

export const UDP_HEADER_LEN = 8
const PROTO_UDP = 17

/** udpCheck results: 0 is a valid datagram, the rest say why it is not. */
export const UDP_OK = 0
export const UDP_ERR_SHORT = 1
export const UDP_ERR_LENGTH = 2
export const UDP_ERR_CHECKSUM = 3

/** Checksum field value for the datagram buf[off..off+len) (its checksum field taken as read). */
export function udpChecksum(buf: Buffer, off: number, len: number, src: number, dst: number): number {
    const sum = checksumAdd(checksumAddU32(checksumAddU32(PROTO_UDP + len, src), dst), buf, off, len)
    return checksumFinish(sum)
}

/**
 * Validates the datagram in the IPv4 payload buf[off..off+len): the UDP length must fit
 * the payload (bytes beyond it are ignored, RFC 768), a non-zero checksum must verify.
 */
export function udpCheck(buf: Buffer, off: number, len: number, src: number, dst: number): number {
    if (len < UDP_HEADER_LEN || off < 0 || off + len > buf.length) return UDP_ERR_SHORT
    const udpLen = getU16BE(buf, off + 4)
    if (udpLen < UDP_HEADER_LEN || udpLen > len) return UDP_ERR_LENGTH
    if (getU16BE(buf, off + 6) !== 0 && udpChecksum(buf, off, udpLen, src, dst) !== 0) return UDP_ERR_CHECKSUM
    return UDP_OK
}

/**
 * Writes the header at buf[off] for the dataLen data bytes already at buf[off + 8],
 * with the checksum for src → dst. Returns the datagram length.
 */
export function udpEmit(buf: Buffer, off: number, srcPort: number, dstPort: number, dataLen: number, src: number, dst: number): number {
    const len = UDP_HEADER_LEN + dataLen
    setU16BE(buf, off, srcPort)
    setU16BE(buf, off + 2, dstPort)
    setU16BE(buf, off + 4, len)
    setU16BE(buf, off + 6, 0)
    setU16BE(buf, off + 6, udpChecksum(buf, off, len, src, dst) || 0xffff)
    return len
}
