// What the MAC notices about a frame (without FCS, destination MAC first): address
// class, type/length, control and VLAN frames. Shared by the receive status vector
// (Table 7-3) and the transmit status vector (Table 7-1).

/** Destination is FF-FF-FF-FF-FF-FF. */
export function isBroadcast(f: Uint8Array, off: number): boolean {
    return (f[off] & f[off + 1] & f[off + 2] & f[off + 3] & f[off + 4] & f[off + 5]) === 0xff
}

/** Destination has the group bit set and is not the broadcast address. */
export function isMulticast(f: Uint8Array, off: number): boolean {
    return (f[off] & 1) === 1 && !isBroadcast(f, off)
}

/** The type/length field (bytes 12-13), or -1 when the frame is too short. */
export function typeLength(f: Uint8Array, off: number, len: number): number {
    return len >= 14 ? (f[off + 12] << 8) | f[off + 13] : -1
}

/** Type/length above 1500: a type, which the MAC reports as "length out of range". */
export function lengthOutOfRange(f: Uint8Array, off: number, len: number): boolean {
    return typeLength(f, off, len) > 1500
}

/**
 * A length field (≤ 1500) that disagrees with the data that follows it. A frame padded
 * to the 60-byte minimum is fine when its length field is below the padded size.
 */
export function lengthCheckError(f: Uint8Array, off: number, len: number): boolean {
    const tl = typeLength(f, off, len)
    if (tl < 0 || tl > 1500) return false
    const data = len - 14
    if (data === tl) return false
    return !(len === 60 && tl < data)
}

export const ETHERTYPE_MAC_CONTROL = 0x8808
export const ETHERTYPE_VLAN = 0x8100

/** A MAC control frame (type 0x8808). */
export function isControlFrame(f: Uint8Array, off: number, len: number): boolean {
    return typeLength(f, off, len) === ETHERTYPE_MAC_CONTROL
}

/** A PAUSE frame: control opcode 0x0001 to the reserved address 01-80-C2-00-00-01. */
export function isPauseFrame(f: Uint8Array, off: number, len: number): boolean {
    if (!isControlFrame(f, off, len) || len < 16) return false
    const dst = f[off] === 0x01 && f[off + 1] === 0x80 && f[off + 2] === 0xc2 && f[off + 3] === 0 && f[off + 4] === 0 && f[off + 5] === 1
    return dst && f[off + 14] === 0 && f[off + 15] === 1
}

/** A VLAN-tagged frame (type 0x8100). */
export function isVlanFrame(f: Uint8Array, off: number, len: number): boolean {
    return typeLength(f, off, len) === ETHERTYPE_VLAN
}
