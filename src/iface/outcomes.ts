// The interface counters that partition its traffic (see counters.ts), by name, for
// tests and status pages. A module of its own so that firmware which does not list them
// does not build the arrays at start-up (top-level code of every imported module runs,
// and costs DeviceScript function-code bytes).

/** The receive outcome counters: each input frame increments exactly one of them. */
export const RX_OUTCOME_COUNTERS: string[] = [
    "ethDropShort",
    "ethDropNotOurs",
    "ethDropMulticast",
    "ethDropIpv6",
    "ethDropOtherType",
    "arpDropMalformed",
    "arpDropNoAddress",
    "arpDropBadSender",
    "arpDropConflict",
    "arpNotForUs",
    "arpGratuitous",
    "arpRequestsForUs",
    "arpRepliesForUs",
    "ipDropShort",
    "ipDropVersion",
    "ipDropHeaderLen",
    "ipDropTotalLen",
    "ipDropChecksum",
    "ipDropFragment",
    "ipDropNotForUs",
    "ipDropBadSource",
    "ipDropUnknownProtocol",
    "ipDelivered",
]

/** ICMP outcomes: each datagram delivered to the ICMP handler increments exactly one. */
export const ICMP_OUTCOME_COUNTERS: string[] = [
    "icmpDropShort",
    "icmpDropChecksum",
    "icmpDropNoAddress",
    "icmpDropBroadcastEcho",
    "icmpDropTooLong",
    "icmpEchoRequests",
    "icmpOther",
]
