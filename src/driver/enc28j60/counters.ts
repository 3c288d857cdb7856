// What the ENC28J60 driver counts. Plain numbers, so the stack can print them and
// tests can assert on them.

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
 * Counters with every field 0, from a JSON text: in DeviceScript a string is data, while an
 * object literal is function code (the image holds at most 64 KB of it).
 * test/status-counters.test.ts checks that the text names every field above.
 */
export function newCounters(): Enc28j60Counters {
    return JSON.parse(COUNTERS_ZERO)
}

// (The compiler folds the constant concatenation into one string.)
const COUNTERS_ZERO =
    '{"rxFrames":0,"rxBytes":0,"rxDropBadStatus":0,"rxDropLength":0,"rxDropTooBig":0,' +
    '"rxOverflows":0,"rxBadHeaders":0,"rxNextPtrRepairs":0,"rxResets":0,"txFrames":0,' +
    '"txBytes":0,"txRefused":0,"txAborts":0,"txLateCollisionRetries":0,"txAbortRetries":0,' +
    '"txGiveUps":0,"txTimeouts":0,"spiTransactions":0,"linkChanges":0,"phyTimeouts":0,' +
    '"busErrors":0,"overlappingCalls":0,"chipResets":0}'
