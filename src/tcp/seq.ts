// TCP sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4).
//
// Sequence numbers are kept as unsigned 32-bit values (0 .. 2^32-1). Comparisons use
// the signed 32-bit difference, valid while the two numbers are less than 2^31 apart,
// which the window sizes here guarantee.

/** a + n, wrapped to an unsigned 32-bit sequence number. */
export function seqAdd(a: number, n: number): number {
    return (a + n) >>> 0
}

/** a - b as a signed 32-bit distance (negative when a is before b). */
export function seqSub(a: number, b: number): number {
    return (a - b) | 0
}

export function seqLt(a: number, b: number): boolean {
    return ((a - b) | 0) < 0
}

export function seqLe(a: number, b: number): boolean {
    return ((a - b) | 0) <= 0
}

export function seqGt(a: number, b: number): boolean {
    return ((a - b) | 0) > 0
}

export function seqGe(a: number, b: number): boolean {
    return ((a - b) | 0) >= 0
}

/** The later of two sequence numbers. */
export function seqMax(a: number, b: number): number {
    return ((a - b) | 0) >= 0 ? a : b
}

/** True when lo <= s < hi (mod 2^32). */
export function seqInRange(s: number, lo: number, hi: number): boolean {
    return ((s - lo) | 0) >= 0 && ((s - hi) | 0) < 0
}
