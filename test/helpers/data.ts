// Test data: seeded pseudo-random bytes and their hash, shared by every transfer test.
import { createHash } from "node:crypto"

export function sha256(b: Buffer): string {
    return createHash("sha256").update(b).digest("hex")
}

/** Seeded pseudo-random bytes (xorshift32): reproducible, not compressible, not periodic at 1 MiB. */
export function patternBytes(n: number, seed: number): Buffer {
    const b = Buffer.alloc(n)
    let x = seed >>> 0 || 0x9e3779b9
    for (let i = 0; i < n; i++) {
        x ^= x << 13
        x >>>= 0
        x ^= x >>> 17
        x ^= x << 5
        x >>>= 0
        b[i] = x & 0xff
    }
    return b
}
