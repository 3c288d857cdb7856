// HalfSipHash-2-4 with a 32-bit result (Aumasson & Bernstein, the SipHash reference
// implementation): a keyed PRF on 32-bit words, used for ISNs (RFC 6528), SYN cookies and
// ephemeral-port offsets (RFC 6056). Input is up to four 32-bit words, each read as the
// little-endian encoding of four message bytes, so the results match the reference test
// vectors for messages of 0, 4, 8, 12 and 16 bytes. No allocation: state lives in
// module-level variables.

let v0 = 0
let v1 = 0
let v2 = 0
let v3 = 0

function rotl(x: number, b: number): number {
    return ((x << b) | (x >>> (32 - b))) | 0
}

function sipRound(): void {
    v0 = (v0 + v1) | 0
    v1 = rotl(v1, 5) ^ v0
    v0 = rotl(v0, 16)
    v2 = (v2 + v3) | 0
    v3 = rotl(v3, 8) ^ v2
    v0 = (v0 + v3) | 0
    v3 = rotl(v3, 7) ^ v0
    v2 = (v2 + v1) | 0
    v1 = rotl(v1, 13) ^ v2
    v2 = rotl(v2, 16)
}

function absorb(m: number): void {
    v3 ^= m
    sipRound()
    sipRound()
    v0 ^= m
}

/**
 * HalfSipHash-2-4 of the first n (0..4) of the words w0..w3 under the 64-bit key (k0, k1).
 * Returns an unsigned 32-bit number.
 */
export function halfSipHash(k0: number, k1: number, w0: number, w1: number, w2: number, w3: number, n: number): number {
    v0 = k0 | 0
    v1 = k1 | 0
    v2 = (0x6c796765 ^ k0) | 0
    v3 = (0x74656462 ^ k1) | 0
    if (n > 0) absorb(w0 | 0)
    if (n > 1) absorb(w1 | 0)
    if (n > 2) absorb(w2 | 0)
    if (n > 3) absorb(w3 | 0)
    // Final block: message length in bytes in the top byte, no tail bytes.
    absorb((n * 4) << 24)
    v2 ^= 0xff
    sipRound()
    sipRound()
    sipRound()
    sipRound()
    return (v1 ^ v3) >>> 0
}

/** Mixes a seed into a key word (splitmix-style finaliser), so nearby seeds give unrelated keys. */
export function mixSeed(seed: number, salt: number): number {
    let x = (seed ^ Math.imul(salt, 0x9e3779b9)) | 0
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
    return (x ^ (x >>> 16)) >>> 0
}
