// How the MAC turns the transmit buffer into a frame on the wire (section 7.1): the
// per-packet control byte or MACON3 decide padding, CRC and the huge-frame limit; the
// transmit status vector (Table 7-1) reports the outcome.

import { isBroadcast, isControlFrame, isMulticast, isPauseFrame, isVlanFrame, lengthCheckError, lengthOutOfRange } from "./frame-info"
import {
    MACON3_FRMLNEN, MACON3_HFRMEN, MACON3_TXCRCEN, TXCTRL_PCRCEN, TXCTRL_PHUGEEN, TXCTRL_POVERRIDE, TXCTRL_PPADEN,
} from "./registers"

export interface TxSettings {
    /** Zero-pad the frame (without FCS) up to this many bytes; 0 = no padding. */
    padTo: number
    /** The MAC appends the FCS; otherwise the last 4 bytes must already be one. */
    appendCrc: boolean
    /** Frames longer than MAMXFL are sent whole. */
    huge: boolean
    /** PADCFG asks for padding with CRC while TXCRCEN is clear (register 6-2 forbids it). */
    padWithoutTxcrcen: boolean
}

/**
 * Settings for one frame. PADCFG (MACON3<7:5>): 001 pad to 60, 011/111 pad to 64,
 * 101 pad VLAN frames to 64 and others to 60, all with CRC; x00/x10 no padding.
 */
export function txSettings(control: number, macon3: number, vlan: boolean, out: TxSettings): TxSettings {
    out.padWithoutTxcrcen = false
    if (control & TXCTRL_POVERRIDE) {
        out.padTo = control & TXCTRL_PPADEN ? 60 : 0
        out.appendCrc = (control & TXCTRL_PCRCEN) !== 0
        out.huge = (control & TXCTRL_PHUGEEN) !== 0
        return out
    }
    const padcfg = macon3 >> 5
    let pad = 0
    if (padcfg === 1) pad = 60
    else if (padcfg === 3 || padcfg === 7) pad = 64
    else if (padcfg === 5) pad = vlan ? 64 : 60
    out.padTo = pad
    out.appendCrc = (macon3 & MACON3_TXCRCEN) !== 0 || pad !== 0
    out.padWithoutTxcrcen = pad !== 0 && (macon3 & MACON3_TXCRCEN) === 0
    out.huge = (macon3 & MACON3_HFRMEN) !== 0
    return out
}

export const TSV_LEN = 7

export interface TsvFields {
    byteCount: number
    crcError: boolean
    done: boolean
    lateCollision: boolean
    giant: boolean
    /** Bytes that went on the wire, collided attempts included. */
    wireBytes: number
}

/**
 * Writes the 7-byte transmit status vector for frame f[0..len) (as sent, without FCS)
 * into out[off..off+7).
 */
export function writeTsv(out: Uint8Array, off: number, f: Uint8Array, len: number, macon3: number, t: TsvFields): void {
    out[off] = t.byteCount & 0xff
    out[off + 1] = (t.byteCount >> 8) & 0xff
    let b2 = 0 // bits 19-16 collision count: always 0 here
    if (t.crcError) b2 |= 0x10
    if (macon3 & MACON3_FRMLNEN && lengthCheckError(f, 0, len)) b2 |= 0x20
    if (lengthOutOfRange(f, 0, len)) b2 |= 0x40
    if (t.done) b2 |= 0x80
    out[off + 2] = b2
    let b3 = 0
    if (len >= 6 && isMulticast(f, 0)) b3 |= 0x01
    if (len >= 6 && isBroadcast(f, 0)) b3 |= 0x02
    if (t.lateCollision) b3 |= 0x20 // TSV bit 29
    if (t.giant) b3 |= 0x40 // TSV bit 30
    out[off + 3] = b3
    out[off + 4] = t.wireBytes & 0xff
    out[off + 5] = (t.wireBytes >> 8) & 0xff
    let b6 = 0
    if (isControlFrame(f, 0, len)) b6 |= 0x01
    if (isPauseFrame(f, 0, len)) b6 |= 0x02
    if (isVlanFrame(f, 0, len)) b6 |= 0x08
    out[off + 6] = b6
}
