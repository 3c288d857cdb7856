// SYN cookies: a stateless SYN-ACK when a listener's SYN queue is full, so a SYN flood
// cannot lock out real clients (RFC 4987 §3.6, the scheme Linux uses).
//
// Our ISN (the cookie) = t (5 bits) | MSS index (2 bits) | MAC (25 bits), where t counts
// 64-second periods and MAC = HalfSipHash(secret; 4-tuple, peer's ISN, t, MSS index)
// truncated. The ACK that completes the handshake carries cookie + 1 and the peer's
// ISN + 1; a cookie is valid for the current and the previous period (64..128 s). The MAC
// covers the full period count, not its 5 bits, so a cookie does not come back to life
// 32 periods later. The listener accepts cookie ACKs only for a while after its SYN queue
// overflowed (passive-open.ts), like Linux's tcp_synq_no_recent_overflow().
// What a cookie cannot carry is not negotiated: its SYN-ACK offers no window scale (SACK we
// never offer).

import { halfSipHash, mixSeed } from "./halfsiphash"

/** MSS values a cookie can encode; the largest not above the peer's MSS is used. */
export const COOKIE_MSS_TABLE: number[] = [536, 1220, 1440, 1460]
export const COOKIE_PERIOD_MS = 64000
const MAC_MASK = 0x1ffffff

/** @devsWhenUsed */
export class SynCookies {
    private k0: number
    private k1: number

    /** One key word from each seed (see isn.ts): forging needs the whole 64-bit key. */
    constructor(seed: number, seed2: number) {
        this.k0 = mixSeed(seed, 3)
        this.k1 = mixSeed(seed2, 4)
    }

    private mac(localIp: number, localPort: number, remoteIp: number, remotePort: number, peerIsn: number, t: number, mssIndex: number): number {
        const h = halfSipHash(this.k0, this.k1, localIp, remoteIp, (localPort << 16) | remotePort, peerIsn, 4)
        return halfSipHash(this.k0, this.k1, h, t, mssIndex, 0, 3) & MAC_MASK
    }

    /** The cookie ISN for a SYN from remoteIp:remotePort with ISN peerIsn and MSS option peerMss (0 = none). */
    make(localIp: number, localPort: number, remoteIp: number, remotePort: number, peerIsn: number, peerMss: number, now: number): number {
        let idx = 0
        const m = peerMss > 0 ? peerMss : 536
        for (let i = 0; i < COOKIE_MSS_TABLE.length; i++) if (COOKIE_MSS_TABLE[i] <= m) idx = i
        const t = periodOf(now)
        const mac = this.mac(localIp, localPort, remoteIp, remotePort, peerIsn, t, idx)
        return ((t << 27) | (idx << 25) | mac) >>> 0 // the shift keeps t's low 5 bits
    }

    /**
     * Checks the cookie returned in an ACK (ack - 1) for a connection whose peer ISN is
     * seq - 1. Returns the MSS it encodes, or 0 when it is forged or too old.
     */
    check(localIp: number, localPort: number, remoteIp: number, remotePort: number, peerIsn: number, cookie: number, now: number): number {
        const idx = (cookie >>> 25) & 3
        const cur = periodOf(now)
        const age = (cur - (cookie >>> 27)) & 31
        if (age > 1) return 0
        // The full count of the period the cookie was made in: the current or the previous.
        const t = cur - age
        if (this.mac(localIp, localPort, remoteIp, remotePort, peerIsn, t, idx) !== (cookie & MAC_MASK)) return 0
        return COOKIE_MSS_TABLE[idx]
    }
}

function periodOf(now: number): number {
    return Math.floor(now / COOKIE_PERIOD_MS)
}
