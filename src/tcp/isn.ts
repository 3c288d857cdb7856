// Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport, remoteip,
// remoteport, secretkey), where M is a timer that ticks every 4 microseconds and F is a
// keyed hash (HalfSipHash-2-4). The 64-bit key comes from two seed words given at start-up,
// one per key word: the device should pass two random numbers (e.g. from its hardware RNG)
// so ISNs differ across boots and the key cannot be searched from one 32-bit seed.

import { halfSipHash, mixSeed } from "./halfsiphash"

/** @devsWhenUsed */
export class IsnGenerator {
    private k0: number
    private k1: number

    constructor(seed: number, seed2: number) {
        this.k0 = mixSeed(seed, 1)
        this.k1 = mixSeed(seed2, 2)
    }

    /** The ISN for a connection at time `now` (ms). */
    isn(localIp: number, localPort: number, remoteIp: number, remotePort: number, now: number): number {
        const f = halfSipHash(this.k0, this.k1, localIp, remoteIp, (localPort << 16) | remotePort, 0, 3)
        return (isnClock(now) + f) >>> 0
    }
}

/** M: the 4-microsecond clock (250 ticks per ms) modulo 2^32. */
export function isnClock(now: number): number {
    return (Math.floor(now * 250) % 4294967296) >>> 0
}
