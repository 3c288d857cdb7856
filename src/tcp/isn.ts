// Initial sequence numbers per RFC 6528 §3: ISN = M + F(localip, localport, remoteip,
// remoteport, secretkey), where M is a timer that ticks every 4 microseconds and F is a
// keyed hash (HalfSipHash-2-4). The key comes from a seed given at start-up: the device
// should pass a random number (e.g. from its hardware RNG) so ISNs differ across boots.

import { halfSipHash, mixSeed } from "./halfsiphash"

/** @devsWhenUsed */
export class IsnGenerator {
    private k0: number
    private k1: number

    constructor(seed: number) {
        this.k0 = mixSeed(seed, 1)
        this.k1 = mixSeed(seed, 2)
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
