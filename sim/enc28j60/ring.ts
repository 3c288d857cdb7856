// Address arithmetic of the 8 KB buffer memory. Reads through ERDPT (RBM with
// AUTOINC), the receive hardware's write pointer and the DMA source all step the same
// way: after ERXND comes ERXST, after 0x1FFF comes 0 (sections 4.2.2, 7.2.1, 13.0).
// Walking memory in runs that end at ERXND or 0x1FFF lets copies use Buffer.copy.

export const MEM_SIZE = 0x2000
export const MEM_MASK = 0x1fff

/** The address after p. */
export function stepRing(p: number, st: number, nd: number): number {
    return p === nd ? st : (p + 1) & MEM_MASK
}

/** Last address of the run that starts at p (ERXND if p is at or below it, else 0x1FFF). */
function runEnd(p: number, nd: number): number {
    return p <= nd ? nd : MEM_MASK
}

/** Where the run after runEnd(p) continues. */
function afterRun(end: number, st: number, nd: number): number {
    return end === nd ? st : 0
}

/** The address n steps after p. */
export function advanceRing(p: number, n: number, st: number, nd: number): number {
    for (let guard = 0; guard < 64; guard++) {
        const end = runEnd(p, nd)
        const run = end - p + 1
        if (n < run) return p + n
        n -= run
        p = afterRun(end, st, nd)
        if (n === 0) return p
    }
    // Only reached for huge n: step the remainder one at a time (still bounded).
    for (let i = 0; i < n % MEM_SIZE; i++) p = stepRing(p, st, nd)
    return p
}

/** Steps needed to get from a to b, or -1 when walking from a never reaches b. */
export function ringDistance(a: number, b: number, st: number, nd: number): number {
    let p = a
    let acc = 0
    for (let i = 0; i < 4; i++) {
        const end = runEnd(p, nd)
        if (b >= p && b <= end) return acc + (b - p)
        acc += end - p + 1
        p = afterRun(end, st, nd)
    }
    return -1
}

/** Copies src[off..off+len) into mem from address p on; returns the address after the last byte. */
export function writeRing(mem: Buffer, p: number, src: Uint8Array, off: number, len: number, st: number, nd: number): number {
    while (len > 0) {
        const end = runEnd(p, nd)
        const n = Math.min(len, end - p + 1)
        mem.set(src.subarray(off, off + n), p)
        off += n
        len -= n
        p = p + n - 1 === end ? afterRun(end, st, nd) : p + n
    }
    return p
}

/** Copies len bytes of mem from address p on into dst[off..); returns the address after the last byte. */
export function readRing(mem: Buffer, p: number, dst: Uint8Array, off: number, len: number, st: number, nd: number): number {
    while (len > 0) {
        const end = runEnd(p, nd)
        const n = Math.min(len, end - p + 1)
        dst.set(mem.subarray(p, p + n), off)
        off += n
        len -= n
        p = p + n - 1 === end ? afterRun(end, st, nd) : p + n
    }
    return p
}

/** Linear (non-ring) copy out of mem that wraps only at 0x1FFF. */
export function readLinear(mem: Buffer, p: number, dst: Uint8Array, off: number, len: number): void {
    readRing(mem, p & MEM_MASK, dst, off, len, 0, MEM_MASK)
}

/** Linear copy into mem that wraps only at 0x1FFF. */
export function writeLinear(mem: Buffer, p: number, src: Uint8Array, off: number, len: number): void {
    writeRing(mem, p & MEM_MASK, src, off, len, 0, MEM_MASK)
}

/** True when address a lies in the ring ERXST..ERXND (which may span 0x1FFF→0). */
export function inRing(a: number, st: number, nd: number): boolean {
    return st <= nd ? a >= st && a <= nd : a >= st || a <= nd
}
