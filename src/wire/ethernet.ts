// Ethernet II framing (IEEE 802.3 clause 3.2.6 with a type field): dst MAC, src MAC,
// EtherType, payload. Frames reach us without the FCS (the controller strips it).

import { allocBytes, copyBytes, getU16BE, setU16BE } from "../util/bytes"

export const ETHERNET_HEADER_LEN = 14
/** Smallest frame on the wire without FCS (64 minus 4); shorter frames are zero-padded. */
export const ETHERNET_MIN_FRAME_LEN = 60
export const MAC_LEN = 6

export const ETHERTYPE_IPV4 = 0x0800
export const ETHERTYPE_ARP = 0x0806
export const ETHERTYPE_IPV6 = 0x86dd

/** A parsed Ethernet header. MACs live in buffers owned by the Repr (allocated once). */
/** @devsWhenUsed */
export class EthernetRepr {
    dst: Buffer
    src: Buffer
    etherType: number
    constructor() {
        this.dst = allocBytes(MAC_LEN)
        this.src = allocBytes(MAC_LEN)
        this.etherType = 0
    }
}

/** Reads the header of buf[off..off+len) into out. False when too short for a header. */
export function ethernetParse(buf: Buffer, off: number, len: number, out: EthernetRepr): boolean {
    if (len < ETHERNET_HEADER_LEN || off < 0 || off + len > buf.length) return false
    copyBytes(out.dst, 0, buf, off, MAC_LEN)
    copyBytes(out.src, 0, buf, off + 6, MAC_LEN)
    out.etherType = getU16BE(buf, off + 12)
    return true
}

/** Writes the 14-byte header at buf[off]; returns the header length. */
export function ethernetEmit(repr: EthernetRepr, buf: Buffer, off: number): number {
    copyBytes(buf, off, repr.dst, 0, MAC_LEN)
    copyBytes(buf, off + 6, repr.src, 0, MAC_LEN)
    setU16BE(buf, off + 12, repr.etherType)
    return ETHERNET_HEADER_LEN
}

/** ff:ff:ff:ff:ff:ff */
export function macIsBroadcast(buf: Buffer, off: number): boolean {
    for (let i = 0; i < MAC_LEN; i++) if (buf[off + i] !== 0xff) return false
    return true
}

/** Group bit (I/G, the least significant bit of the first octet): multicast or broadcast. */
export function macIsGroup(buf: Buffer, off: number): boolean {
    return (buf[off] & 1) === 1
}
