// DHCP messages (RFC 2131 section 2, options RFC 2132): the BOOTP fixed part (236
// bytes), the magic cookie, then options. Parsing is in place into a reused DhcpRepr
// and takes only what a client needs; emitting writes the fixed part and the client
// appends options with dhcpPutOption.

import { fillBytes, getU32BE, setU16BE, setU32BE, copyBytes } from "../util/bytes"

export const DHCP_SERVER_PORT = 67
export const DHCP_CLIENT_PORT = 68
/** Offset of the options: fixed part + 4-byte magic cookie. */
export const DHCP_OPTIONS_OFFSET = 240
const MAGIC_COOKIE = 0x63825363
const BOOTREQUEST = 1
const BOOTREPLY = 2
/** RFC 1542 section 3.3: some relays drop BOOTP messages shorter than 300 bytes. */
export const DHCP_MIN_LEN = 300

// Message types (option 53).
export const DHCPDISCOVER = 1
export const DHCPOFFER = 2
export const DHCPREQUEST = 3
export const DHCPDECLINE = 4
export const DHCPACK = 5
export const DHCPNAK = 6

// Option codes (RFC 2132).
export const OPT_PAD = 0
export const OPT_SUBNET_MASK = 1
export const OPT_ROUTER = 3
export const OPT_DNS = 6
export const OPT_REQUESTED_IP = 50
export const OPT_LEASE_TIME = 51
export const OPT_MESSAGE_TYPE = 53
export const OPT_SERVER_ID = 54
export const OPT_PARAM_LIST = 55
export const OPT_T1 = 58
export const OPT_T2 = 59
export const OPT_END = 255

/** The 32-bit options a client reads, in DhcpRepr.v order (router and DNS: the first address). */
const READ_OPTIONS = [OPT_SUBNET_MASK, OPT_ROUTER, OPT_DNS, OPT_LEASE_TIME, OPT_SERVER_ID, OPT_T1, OPT_T2]
export const V_MASK = 0
export const V_ROUTER = 1
export const V_DNS = 2
/** Lease, T1 and T2 are in seconds (0xffffffff = infinite lease). */
export const V_LEASE = 3
export const V_SERVER_ID = 4
export const V_T1 = 5
export const V_T2 = 6

/** The fields of a reply a client uses. */
/** @devsWhenUsed */
export class DhcpRepr {
    xid: number
    yiaddr: number
    /** Offset of chaddr in the parsed buffer (to compare with our MAC in place). */
    chaddrOff: number
    type: number
    /** Option values by V_* index; 0 = option absent. */
    v: number[]
    constructor() {
        this.xid = 0
        this.yiaddr = 0
        this.chaddrOff = 0
        this.type = 0
        this.v = [0, 0, 0, 0, 0, 0, 0]
    }
}

/**
 * Reads the BOOTREPLY at buf[off..off+len) into out. False for anything malformed:
 * short, not a reply, not Ethernet, no magic cookie, an option running past the end,
 * an option we read shorter than its value, or no valid message type. Option overload
 * (52) is not followed: sname/file are never read.
 */
export function dhcpParse(buf: Buffer, off: number, len: number, out: DhcpRepr): boolean {
    if (len < DHCP_OPTIONS_OFFSET || off < 0 || off + len > buf.length) return false
    if (buf[off] !== BOOTREPLY || buf[off + 1] !== 1 || buf[off + 2] !== 6) return false
    if (getU32BE(buf, off + 236) !== MAGIC_COOKIE) return false
    out.xid = getU32BE(buf, off + 4)
    out.yiaddr = getU32BE(buf, off + 16)
    out.chaddrOff = off + 28
    out.type = 0
    const v = out.v
    for (let i = 0; i < v.length; i++) v[i] = 0
    const end = off + len
    let p = off + DHCP_OPTIONS_OFFSET
    while (p < end && buf[p] !== OPT_END) {
        const code = buf[p]
        if (code === OPT_PAD) {
            p++
            continue
        }
        if (p + 2 > end) return false
        const n = buf[p + 1]
        const at = p + 2
        p = at + n
        if (p > end) return false
        const k = READ_OPTIONS.indexOf(code)
        if (code === OPT_MESSAGE_TYPE) {
            if (n !== 1) return false
            out.type = buf[at]
        } else if (k >= 0) {
            if (n < 4) return false
            v[k] = getU32BE(buf, at)
        }
    }
    return out.type >= DHCPDISCOVER && out.type <= 8
}

/**
 * Writes a BOOTREQUEST's fixed part and magic cookie at buf[off] (zeroing sname, file
 * and the rest) and returns the offset where options start.
 */
export function dhcpEmitHeader(buf: Buffer, off: number, xid: number, secs: number, broadcast: boolean, ciaddr: number, mac: Buffer): number {
    fillBytes(buf, off, DHCP_OPTIONS_OFFSET, 0)
    buf[off] = BOOTREQUEST
    buf[off + 1] = 1 // htype Ethernet
    buf[off + 2] = 6 // hlen
    setU32BE(buf, off + 4, xid)
    setU16BE(buf, off + 8, secs > 0xffff ? 0xffff : secs)
    if (broadcast) buf[off + 10] = 0x80
    setU32BE(buf, off + 12, ciaddr)
    copyBytes(buf, off + 28, mac, 0, 6)
    setU32BE(buf, off + 236, MAGIC_COOKIE)
    return off + DHCP_OPTIONS_OFFSET
}

/** Appends an option with a 1-byte (n = 1) or 4-byte (n = 4) value at p; returns the next offset. */
export function dhcpPutOption(buf: Buffer, p: number, code: number, n: number, value: number): number {
    buf[p] = code
    buf[p + 1] = n
    if (n === 1) buf[p + 2] = value
    else setU32BE(buf, p + 2, value)
    return p + 2 + n
}
