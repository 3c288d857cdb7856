// Layer-wide TCP counters (every dropped segment lands in exactly one drop counter).

export interface TcpCounters {
    rxSegments: number
    rxDropMalformed: number
    rxDropChecksum: number
    rxDropNotForUs: number
    rxDropBadPort: number
    /** Segments for no connection or listener (answered with RST unless they were RSTs). */
    rxNoConnection: number
    /** Segments outside the receive window (answered with an ACK, or dropped if RST). */
    rxOutOfWindow: number
    /** Out-of-order data refused because the assembler had no free range. */
    rxOooDropped: number
    txSegments: number
    /** Output postponed: the interface had no free frame. */
    txNoFrame: number
    rstSent: number
    rstReceived: number
    challengeAcks: number
    challengeAcksSuppressed: number
    retransmits: number
    fastRetransmits: number
    timeouts: number
    /** Orphans reset when tcpOrphanTimeoutMs ran out. */
    orphansAborted: number
    /** Exceptions caught in timers or the event hook (a bug: should stay 0). */
    internalErrors: number
    connectionsOpened: number
    connectionsAccepted: number
    connectionsFailed: number
    timeWaitRecycled: number
    timeWaitReused: number
    synReceived: number
    synQueueFull: number
    synCookiesSent: number
    synCookiesAccepted: number
    synCookiesRejected: number
    synAckRetransmits: number
    synRequestsExpired: number
    /** Completed handshakes dropped because the listener's accept queue was full. */
    acceptQueueOverflows: number
    /** Completed handshakes dropped because every connection slot was in use (exhaustion). */
    noFreeSlot: number
    listenDrops: number
}

/**
 * Counters with every field 0, from a JSON text: in DeviceScript a string is data, while a
 * class's field initialisers are function code (the image holds at most 64 KB of it).
 * test/status-counters.test.ts checks that the text names every field above.
 */
export function newTcpCounters(): TcpCounters {
    return JSON.parse(TCP_COUNTERS_ZERO)
}

// (The compiler folds the constant concatenation into one string.)
const TCP_COUNTERS_ZERO =
    '{"rxSegments":0,"rxDropMalformed":0,"rxDropChecksum":0,"rxDropNotForUs":0,' +
    '"rxDropBadPort":0,"rxNoConnection":0,"rxOutOfWindow":0,"rxOooDropped":0,"txSegments":0,' +
    '"txNoFrame":0,"rstSent":0,"rstReceived":0,"challengeAcks":0,"challengeAcksSuppressed":0,' +
    '"retransmits":0,"fastRetransmits":0,"timeouts":0,"orphansAborted":0,"internalErrors":0,' +
    '"connectionsOpened":0,' +
    '"connectionsAccepted":0,"connectionsFailed":0,"timeWaitRecycled":0,"timeWaitReused":0,' +
    '"synReceived":0,"synQueueFull":0,"synCookiesSent":0,"synCookiesAccepted":0,' +
    '"synCookiesRejected":0,"synAckRetransmits":0,"synRequestsExpired":0,' +
    '"acceptQueueOverflows":0,"noFreeSlot":0,"listenDrops":0}'
