// Layer-wide TCP counters (every dropped segment lands in exactly one drop counter).

/** @devsWhenUsed */
export class TcpCounters {
    rxSegments = 0
    rxDropMalformed = 0
    rxDropChecksum = 0
    rxDropNotForUs = 0
    rxDropBadPort = 0
    /** Segments for no connection or listener (answered with RST unless they were RSTs). */
    rxNoConnection = 0
    /** Segments outside the receive window (answered with an ACK, or dropped if RST). */
    rxOutOfWindow = 0
    /** Out-of-order data refused because the assembler had no free range. */
    rxOooDropped = 0
    txSegments = 0
    /** Output postponed: the interface had no free frame. */
    txNoFrame = 0
    rstSent = 0
    rstReceived = 0
    challengeAcks = 0
    challengeAcksSuppressed = 0
    retransmits = 0
    fastRetransmits = 0
    timeouts = 0
    connectionsOpened = 0
    connectionsAccepted = 0
    connectionsFailed = 0
    timeWaitRecycled = 0
    timeWaitReused = 0
    synReceived = 0
    synQueueFull = 0
    synCookiesSent = 0
    synCookiesAccepted = 0
    synCookiesRejected = 0
    synAckRetransmits = 0
    synRequestsExpired = 0
    acceptQueueOverflows = 0
    listenDrops = 0
}
