// CRC-32 as Ethernet uses it for the FCS (IEEE 802.3 clause 3.2.9): reflected
// polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF. The FCS goes on the
// wire least significant byte first.

const TABLE = makeTable()

function makeTable(): Uint32Array {
    const t = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
        let c = n
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
        t[n] = c >>> 0
    }
    return t
}

/** CRC-32 of buf[off..off+len). */
export function crc32(buf: Uint8Array, off: number, len: number): number {
    let c = 0xffffffff
    const end = off + len
    for (let i = off; i < end; i++) c = TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
}

/** Writes the FCS of buf[off..off+len) right after it (4 bytes, little-endian). */
export function appendFcs(buf: Uint8Array, off: number, len: number): void {
    const c = crc32(buf, off, len)
    const p = off + len
    buf[p] = c & 0xff
    buf[p + 1] = (c >>> 8) & 0xff
    buf[p + 2] = (c >>> 16) & 0xff
    buf[p + 3] = c >>> 24
}

/** True when the last 4 bytes of buf[off..off+len) are the FCS of the bytes before them. */
export function fcsValid(buf: Uint8Array, off: number, len: number): boolean {
    if (len < 4) return false
    const c = crc32(buf, off, len - 4)
    const p = off + len - 4
    return (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0 === c
}
