// ARP for IPv4 over Ethernet (RFC 826): the only hardware/protocol pair we speak.

import { allocBytes, copyBytes, getU16BE, getU32BE, setU16BE, setU32BE } from "../util/bytes"
import { ETHERTYPE_IPV4, MAC_LEN } from "./ethernet"

/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LEN = 28
export const ARP_HTYPE_ETHERNET = 1
export const ARP_OP_REQUEST = 1
export const ARP_OP_REPLY = 2

/** @devsWhenUsed */
export class ArpRepr {
    operation: number
    senderMac: Buffer
    senderIp: number
    targetMac: Buffer
    targetIp: number
    constructor() {
        this.operation = 0
        this.senderMac = allocBytes(MAC_LEN)
        this.senderIp = 0
        this.targetMac = allocBytes(MAC_LEN)
        this.targetIp = 0
    }
}

/**
 * Parses an ARP packet at buf[off..off+len). Rejects anything but Ethernet (htype 1)
 * / IPv4 (ptype 0x0800) with hlen 6, plen 4 and operation request or reply.
 */
export function arpParse(buf: Buffer, off: number, len: number, out: ArpRepr): boolean {
    if (len < ARP_LEN || off < 0 || off + len > buf.length) return false
    if (getU16BE(buf, off) !== ARP_HTYPE_ETHERNET) return false
    if (getU16BE(buf, off + 2) !== ETHERTYPE_IPV4) return false
    if (buf[off + 4] !== MAC_LEN || buf[off + 5] !== 4) return false
    const op = getU16BE(buf, off + 6)
    if (op !== ARP_OP_REQUEST && op !== ARP_OP_REPLY) return false
    out.operation = op
    copyBytes(out.senderMac, 0, buf, off + 8, MAC_LEN)
    out.senderIp = getU32BE(buf, off + 14)
    copyBytes(out.targetMac, 0, buf, off + 18, MAC_LEN)
    out.targetIp = getU32BE(buf, off + 24)
    return true
}

/** Writes the 28-byte packet at buf[off]; returns its length. */
export function arpEmit(repr: ArpRepr, buf: Buffer, off: number): number {
    setU16BE(buf, off, ARP_HTYPE_ETHERNET)
    setU16BE(buf, off + 2, ETHERTYPE_IPV4)
    buf[off + 4] = MAC_LEN
    buf[off + 5] = 4
    setU16BE(buf, off + 6, repr.operation)
    copyBytes(buf, off + 8, repr.senderMac, 0, MAC_LEN)
    setU32BE(buf, off + 14, repr.senderIp)
    copyBytes(buf, off + 18, repr.targetMac, 0, MAC_LEN)
    setU32BE(buf, off + 24, repr.targetIp)
    return ARP_LEN
}
