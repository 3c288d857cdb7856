// Errata behaviours and fault injection the chip model applies on request, so tests can
// prove the driver survives them. Errata numbers are those of DS80349C.

import { mulberry32 } from "./prng"

export class ChipFaults {
    /** Errata 6: EIR.PKTIF reads 0 even while EPKTCNT > 0 (the driver must count with EPKTCNT). */
    pktifUnreliable = false
    /**
     * The next frame that reaches the MAC carries a bad FCS: with ERXFCON.CRCEN it is
     * discarded, without it it is stored with RSV bit 20 (CRC error) set and bit 23 clear.
     */
    crcErrorNext = false
    /** Errata 12: transmissions still to abort with TXRTS stuck (see txAbortNext). */
    txAbortsPending = 0
    /** Errata 13: transmissions still to end in a late collision (see lateCollisionNext). */
    lateCollisionsPending = 0
    /** Armed by corruptNextPointerOnce(). */
    nextPointerCorruptPending = false
    /** Probability that a MISO byte is replaced by a random one (0 = off). */
    spiGarbageProbability = 0
    spiGarbageRng: () => number = mulberry32(1)

    /**
     * Errata 12: the next n transmissions abort (ESTAT.TXABRT, EIR.TXERIF) and leave
     * ECON1.TXRTS set; the transmit logic stays stalled until ECON1.TXRST is pulsed.
     */
    txAbortNext(n = 1): void {
        this.txAbortsPending += n
    }

    /**
     * Errata 13: the next n transmissions end in a late collision: TSV bit 29 set, done
     * bit clear, EIR.TXERIF + ESTAT.TXABRT, nothing on the wire. ESTAT.LATECOL stays 0
     * (errata 15: it is unreliable), so the driver must read the TSV.
     */
    lateCollisionNext(n = 1): void {
        this.lateCollisionsPending += n
    }

    /** The next stored packet gets a next-packet pointer outside the receive ring. */
    corruptNextPointerOnce(): void {
        this.nextPointerCorruptPending = true
    }

    /** MISO returns a random byte with this probability (use a seeded rng, e.g. mulberry32). */
    spiGarbage(probability: number, rng?: () => number): void {
        this.spiGarbageProbability = probability > 0 ? Math.min(probability, 1) : 0
        if (rng) this.spiGarbageRng = rng
    }

    /** Turns every fault off. */
    clear(): void {
        this.pktifUnreliable = false
        this.crcErrorNext = false
        this.txAbortsPending = 0
        this.lateCollisionsPending = 0
        this.nextPointerCorruptPending = false
        this.spiGarbageProbability = 0
    }
}
