// Layer-wide TCP counters (every dropped segment lands in exactly one drop counter).

import { zeroFields } from "../util/zero-fields"

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
 * A counters object with every field 0. Its keys are string literals (image strings, no
 * heap), see zeroFields; test/status-counters.test.ts checks that every field above is
 * set, in order.
 */
export function newTcpCounters(): TcpCounters {
    const c = zeroFields<TcpCounters>({}, "rxSegments", "rxDropMalformed", "rxDropChecksum", "rxDropNotForUs",
        "rxDropBadPort", "rxNoConnection", "rxOutOfWindow")
    zeroFields<TcpCounters>(c, "rxOooDropped", "txSegments", "txNoFrame", "rstSent", "rstReceived",
        "challengeAcks", "challengeAcksSuppressed")
    zeroFields<TcpCounters>(c, "retransmits", "fastRetransmits", "timeouts", "orphansAborted",
        "internalErrors", "connectionsOpened", "connectionsAccepted")
    zeroFields<TcpCounters>(c, "connectionsFailed", "timeWaitRecycled", "timeWaitReused", "synReceived",
        "synQueueFull", "synCookiesSent", "synCookiesAccepted")
    zeroFields<TcpCounters>(c, "synCookiesRejected", "synAckRetransmits", "synRequestsExpired",
        "acceptQueueOverflows", "noFreeSlot", "listenDrops")
    return c
}
