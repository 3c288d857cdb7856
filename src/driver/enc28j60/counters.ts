// What the ENC28J60 driver counts. Plain numbers, so the stack can print them and
// tests can assert on them.

import { zeroFields } from "../../util/zero-fields"

export interface Enc28j60Counters {
    /** Frames handed to the caller and their bytes (without FCS). */
    rxFrames: number
    rxBytes: number
    /** Frames the chip stored but flagged as not received OK (RSV bit 23 clear). */
    rxDropBadStatus: number
    /** Frames shorter than an Ethernet header. */
    rxDropLength: number
    /** Frames longer than the caller's buffer. */
    rxDropTooBig: number
    /** EIR.RXERIF seen: the ring (or EPKTCNT) overflowed and the chip dropped frames. */
    rxOverflows: number
    /** Packet headers that did not add up (garbled read or corrupt ring). */
    rxBadHeaders: number
    /** Bad next pointers skipped over with the byte count instead of a ring reset. */
    rxNextPtrRepairs: number
    /** Receive logic resets and ring re-initialisations. */
    rxResets: number

    /** Frames the chip reported sent, and their bytes. */
    txFrames: number
    txBytes: number
    /** Frames refused before reaching the chip (bad length, not initialised, overlapping call). */
    txRefused: number
    /** Transmissions that ended with EIR.TXERIF. */
    txAborts: number
    /** Retransmissions because TSV bit 29 (late collision) was set (errata 13, 15). */
    txLateCollisionRetries: number
    /** Retransmissions after any other abort or a stuck TXRTS (errata 12). */
    txAbortRetries: number
    /** Frames abandoned after maxTxRetries. */
    txGiveUps: number
    /** ECON1.TXRTS still set after txTimeoutMs. */
    txTimeouts: number

    /** Chip-select cycles (one SPI command each). */
    spiTransactions: number
    /** Link state changes seen by linkUp(). */
    linkChanges: number
    /** MISTAT.BUSY still set after phyTimeoutMs. */
    phyTimeouts: number
    /**
     * Exceptions caught inside receive/transmit/linkUp: from the bus, a transmit timeout on
     * a reset chip, or a bring-up after a chip reset that found no chip.
     */
    busErrors: number
    /** Calls made while another call was still running (refused). */
    overlappingCalls: number
    /** Chip resets noticed (brown-out, RESET glitch, re-plug: our settings gone) and answered with a new bring-up. */
    chipResets: number
}

/**
 * A counters object with every field 0. Its keys are string literals (image strings, no
 * heap), see zeroFields; test/status-counters.test.ts checks that every field above is
 * set, in order.
 */
export function newCounters(): Enc28j60Counters {
    const c = zeroFields<Enc28j60Counters>({}, "rxFrames", "rxBytes", "rxDropBadStatus", "rxDropLength",
        "rxDropTooBig", "rxOverflows", "rxBadHeaders")
    zeroFields<Enc28j60Counters>(c, "rxNextPtrRepairs", "rxResets", "txFrames", "txBytes", "txRefused",
        "txAborts", "txLateCollisionRetries")
    zeroFields<Enc28j60Counters>(c, "txAbortRetries", "txGiveUps", "txTimeouts", "spiTransactions",
        "linkChanges", "phyTimeouts", "busErrors")
    zeroFields<Enc28j60Counters>(c, "overlappingCalls", "chipResets")
    return c
}
