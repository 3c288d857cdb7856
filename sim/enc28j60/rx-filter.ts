// The receive filters of section 8 (ERXFCON) and the receive status vector of Table 7-3.
// Pure functions over the chip's register file (indexed by register key).

import { crc32 } from "./crc32"
import {
    isBroadcast, isControlFrame, isMulticast, isPauseFrame, isVlanFrame, lengthCheckError, lengthOutOfRange,
} from "./frame-info"
import {
    EHT0, EPMCSH, EPMCSL, EPMM0, EPMOH, EPMOL, ERXFCON, ERXFCON_ANDOR, ERXFCON_BCEN, ERXFCON_HTEN,
    ERXFCON_MCEN, ERXFCON_MPEN, ERXFCON_PMEN, ERXFCON_UCEN, MAADR_KEYS,
} from "./registers"

const FILTER_BITS = ERXFCON_UCEN | ERXFCON_PMEN | ERXFCON_MPEN | ERXFCON_HTEN | ERXFCON_MCEN | ERXFCON_BCEN

/**
 * True when the frame (without FCS) passes ERXFCON. With no filter enabled the MAC is
 * promiscuous. ANDOR = 0 accepts when any enabled filter matches; ANDOR = 1 only when
 * all do. CRCEN is applied by the caller.
 */
export function passesFilters(regs: Uint8Array, f: Uint8Array, len: number): boolean {
    const con = regs[ERXFCON]
    const enabled = con & FILTER_BITS
    if (enabled === 0) return true
    const and = (con & ERXFCON_ANDOR) !== 0
    for (let bit = 0x80; bit !== 0; bit >>= 1) {
        if ((enabled & bit) === 0) continue
        const hit = filterMatches(bit, regs, f, len)
        if (hit && !and) return true
        if (!hit && and) return false
    }
    return and
}

function filterMatches(bit: number, regs: Uint8Array, f: Uint8Array, len: number): boolean {
    switch (bit) {
        case ERXFCON_UCEN:
            return isOurAddress(regs, f, 0)
        case ERXFCON_BCEN:
            return isBroadcast(f, 0)
        case ERXFCON_MCEN:
            // The least significant bit of the first destination byte
            // (broadcast has it too).
            return (f[0] & 1) === 1
        case ERXFCON_HTEN:
            return hashTableMatches(regs, f)
        case ERXFCON_MPEN:
            return isMagicPacket(regs, f, len)
        case ERXFCON_PMEN:
            return patternMatches(regs, f, len)
        default:
            return false
    }
}

/** Destination (or the bytes at off) equals MAADR1-6. */
export function isOurAddress(regs: Uint8Array, f: Uint8Array, off: number): boolean {
    for (let i = 0; i < 6; i++) if (f[off + i] !== regs[MAADR_KEYS[i]]) return false
    return true
}

/**
 * Hash table filter: CRC-32 of the destination address, bits 28:23 pick one of the 64 bits
 * of EHT0-7 (EHT0 bit 0 is pointer 0).
 */
export function hashTableMatches(regs: Uint8Array, f: Uint8Array): boolean {
    const ptr = (crc32(f, 0, 6) >>> 23) & 0x3f
    return (regs[EHT0 + (ptr >> 3)] & (1 << (ptr & 7))) !== 0
}

/** Magic Packet filter: to our address (or broadcast), six 0xFF then our address sixteen times, anywhere after the header. */
function isMagicPacket(regs: Uint8Array, f: Uint8Array, len: number): boolean {
    if (!isOurAddress(regs, f, 0) && !isBroadcast(f, 0)) return false
    const need = 6 + 16 * 6
    for (let s = 14; s + need <= len; s++) {
        let ok = true
        for (let i = 0; i < 6 && ok; i++) if (f[s + i] !== 0xff) ok = false
        for (let r = 0; r < 16 && ok; r++) if (!isOurAddress(regs, f, s + 6 + r * 6)) ok = false
        if (ok) return true
    }
    return false
}

/**
 * Pattern match filter: the bytes of the 64-byte window at EPMO selected by EPMM0-7 (bit 0 of
 * EPMM0 = first byte), taken in order as big-endian 16-bit words, must have the
 * Internet checksum EPMCS. The window must lie inside the frame.
 */
function patternMatches(regs: Uint8Array, f: Uint8Array, len: number): boolean {
    const start = regs[EPMOL] | (regs[EPMOH] << 8)
    if (start + 64 > len) return false
    let sum = 0
    let hi = true
    for (let i = 0; i < 64; i++) {
        if ((regs[EPMM0 + (i >> 3)] & (1 << (i & 7))) === 0) continue
        sum += hi ? f[start + i] << 8 : f[start + i]
        hi = !hi
    }
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
    const cs = ~sum & 0xffff
    return cs === (regs[EPMCSL] | (regs[EPMCSH] << 8))
}

// Receive status vector bits 16-31 (Table 7-3), as the upper half of the 32-bit RSV.
export const RSV_LONG_DROP = 1 << 16
export const RSV_CRC_ERROR = 1 << 20
export const RSV_LENGTH_CHECK = 1 << 21
export const RSV_LENGTH_RANGE = 1 << 22
export const RSV_RECEIVED_OK = 1 << 23
export const RSV_MULTICAST = 1 << 24
export const RSV_BROADCAST = 1 << 25
export const RSV_CONTROL = 1 << 27
export const RSV_PAUSE = 1 << 28
export const RSV_UNKNOWN_OPCODE = 1 << 29
export const RSV_VLAN = 1 << 30

/**
 * Status bits 16-31 for a received frame of len bytes (without FCS). dropped: a packet
 * was lost since the last one stored; frmlnen: MACON3.FRMLNEN (length checking).
 */
export function receiveStatusBits(f: Uint8Array, len: number, crcOk: boolean, frmlnen: boolean, dropped: boolean): number {
    let s = 0
    if (dropped) s |= RSV_LONG_DROP
    if (!crcOk) s |= RSV_CRC_ERROR
    if (frmlnen && lengthCheckError(f, 0, len)) s |= RSV_LENGTH_CHECK
    if (lengthOutOfRange(f, 0, len)) s |= RSV_LENGTH_RANGE
    if (crcOk) s |= RSV_RECEIVED_OK
    if (isMulticast(f, 0)) s |= RSV_MULTICAST
    if (isBroadcast(f, 0)) s |= RSV_BROADCAST
    if (isControlFrame(f, 0, len)) {
        s |= RSV_CONTROL
        if (isPauseFrame(f, 0, len)) s |= RSV_PAUSE
        else s |= RSV_UNKNOWN_OPCODE
    }
    if (isVlanFrame(f, 0, len)) s |= RSV_VLAN
    return s >>> 0
}
