// The datasheet procedures (section 6 init, 7.1 transmit, 7.2 receive) done the plain
// way over RawSpi. They are the model's own reference client: a run of them must leave
// chip.violations empty, which is how the model's tests show it does not invent rules.

import { RawSpi } from "./raw-spi"
import * as R from "./registers"

export interface RawInitOptions {
    mac?: number[]
    fullDuplex?: boolean
    /** Last byte of the receive ring (odd); the ring starts at 0 (errata 5). */
    rxEnd?: number
    erxfcon?: number
    macon3Pad?: number
}

export interface RawRing {
    rxEnd: number
    txStart: number
    /** Where the next packet starts. */
    next: number
}

/** Waits for CLKRDY after power-on, resets, and configures the chip as section 6 says. */
export function rawInit(spi: RawSpi, o: RawInitOptions = {}): RawRing {
    const mac = o.mac || [0x02, 0x00, 0x00, 0x00, 0x00, 0x02]
    const full = o.fullDuplex !== false
    const rxEnd = o.rxEnd !== undefined ? o.rxEnd : 0x19ff
    for (let i = 0; i < 1000 && !(spi.rcr(R.ESTAT) & R.ESTAT_CLKRDY); i++) spi.waitUs(10)
    spi.src()
    spi.waitUs(1100) // errata 2
    spi.writeReg(R.ECON1, 0)
    spi.bfs(R.ECON2, R.ECON2_AUTOINC)
    spi.writeReg16(R.ERXSTL, 0)
    spi.writeReg16(R.ERXNDL, rxEnd)
    spi.writeReg16(R.ERXRDPTL, rxEnd)
    spi.writeReg16(R.ETXSTL, rxEnd + 1)
    spi.writeReg(R.ERXFCON, o.erxfcon !== undefined ? o.erxfcon : R.ERXFCON_UCEN | R.ERXFCON_CRCEN | R.ERXFCON_BCEN)
    spi.writeReg(R.MACON1, R.MACON1_MARXEN | R.MACON1_TXPAUS | R.MACON1_RXPAUS)
    const pad = o.macon3Pad !== undefined ? o.macon3Pad : 0x20
    spi.writeReg(R.MACON3, pad | R.MACON3_TXCRCEN | R.MACON3_FRMLNEN | (full ? R.MACON3_FULDPX : 0))
    if (full) {
        spi.writeReg(R.MABBIPG, 0x15)
        spi.writeReg(R.MAIPGL, 0x12)
    } else {
        spi.writeReg(R.MACON4, 0x40)
        spi.writeReg(R.MABBIPG, 0x12)
        spi.writeReg(R.MAIPGL, 0x12)
        spi.writeReg(R.MAIPGH, 0x0c)
    }
    spi.writeReg16(R.MAMXFLL, 1518)
    for (let i = 0; i < 6; i++) spi.writeReg(R.MAADR_KEYS[i], mac[i])
    spi.phyWrite(R.PHCON1, full ? R.PHCON1_PDPXMD : 0)
    spi.phyWrite(R.PHCON2, full ? 0 : R.PHCON2_HDLDIS)
    spi.bfc(R.EIR, 0xff)
    spi.bfs(R.ECON1, R.ECON1_RXEN)
    return { rxEnd, txStart: rxEnd + 1, next: 0 }
}

/** Sends one frame (errata 12 TXRST pulse first) and waits for it; returns the 7-byte TSV, or null on timeout. */
export function rawSend(spi: RawSpi, ring: RawRing, frame: Uint8Array, control = 0): Buffer | null {
    for (let i = 0; i < 10000 && spi.rcr(R.ECON1) & R.ECON1_TXRTS; i++) spi.waitUs(10)
    spi.bfs(R.ECON1, R.ECON1_TXRST)
    spi.bfc(R.ECON1, R.ECON1_TXRST)
    spi.bfc(R.EIR, R.EIR_TXIF | R.EIR_TXERIF)
    spi.writeReg16(R.EWRPTL, ring.txStart)
    const buf = Buffer.alloc(frame.length + 1)
    buf[0] = control
    buf.set(frame, 1)
    spi.wbm(buf)
    spi.writeReg16(R.ETXNDL, ring.txStart + frame.length)
    spi.bfs(R.ECON1, R.ECON1_TXRTS)
    for (let i = 0; i < 10000; i++) {
        if (!(spi.rcr(R.ECON1) & R.ECON1_TXRTS)) {
            spi.writeReg16(R.ERDPTL, ring.txStart + frame.length + 1)
            return spi.rbm(7)
        }
        spi.waitUs(10)
    }
    return null
}

export interface RawPacket {
    /** Frame without FCS. */
    frame: Buffer
    /** Receive status vector bits 16-31 as one number (bit 23 = received OK). */
    status: number
    byteCount: number
}

/** Reads and frees the oldest packet (section 7.2), or returns null when EPKTCNT is 0. */
export function rawReceive(spi: RawSpi, ring: RawRing): RawPacket | null {
    if (spi.readReg(R.EPKTCNT) === 0) return null
    spi.writeReg16(R.ERDPTL, ring.next)
    const h = spi.rbm(6)
    const next = h[0] | (h[1] << 8)
    const count = h[2] | (h[3] << 8)
    const status = ((h[4] | (h[5] << 8)) << 16) >>> 0
    const data = spi.rbm(count)
    ring.next = next
    // Errata 14: ERXRDPT = next - 1, kept odd.
    spi.writeReg16(R.ERXRDPTL, next === 0 ? ring.rxEnd : next - 1)
    spi.bfs(R.ECON2, R.ECON2_PKTDEC)
    return { frame: data.subarray(0, Math.max(0, count - 4)), status, byteCount: count }
}
