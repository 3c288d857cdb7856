// Interface counters: one plain object of numbers, names readable on a status page.
//
// Every frame given to Interface.input ends in exactly ONE "outcome" counter (listed
// in RX_OUTCOME_COUNTERS, outcomes.ts), so rxFrames === the sum of the outcomes: nothing
// is lost uncounted. The other counters describe transmission and table events.

import { zeroFields } from "../util/zero-fields"

export interface InterfaceCounters {
    // ---- receive: totals
    rxFrames: number
    rxBytes: number
    // ---- receive outcomes (exactly one per frame)
    ethDropShort: number // shorter than an Ethernet header
    ethDropNotOurs: number // unicast to another MAC
    ethDropMulticast: number // group address other than broadcast
    ethDropIpv6: number // unsupported, common on a TAP
    ethDropOtherType: number // any other EtherType or an 802.3 length field
    arpDropMalformed: number
    arpDropNoAddress: number // we have no IP address yet
    arpDropBadSender: number // group MAC, or a broadcast/multicast/loopback sender IP
    arpDropConflict: number // someone else claims our IP (RFC 5227 section 2.4)
    arpNotForUs: number // valid, target is someone else (may still refresh an entry, RFC 826)
    arpGratuitous: number // sender IP === target IP announcement (merged, never created)
    arpRequestsForUs: number
    arpRepliesForUs: number
    ipDropShort: number
    ipDropVersion: number
    ipDropHeaderLen: number
    ipDropTotalLen: number
    ipDropChecksum: number
    ipDropFragment: number // MF set or offset != 0: we do not reassemble
    ipDropNotForUs: number
    ipDropBadSource: number // multicast/broadcast/loopback source (RFC 1122 section 3.2.1.3)
    ipDropUnknownProtocol: number
    ipDelivered: number // handed to a protocol handler (ICMP, TCP, UDP)
    internalErrors: number // an exception caught in input/poll: a bug, should stay 0 (not an outcome)
    // ---- ICMP (each delivered ICMP datagram ends in one of these)
    icmpDropShort: number
    icmpDropChecksum: number
    icmpDropNoAddress: number
    icmpDropBroadcastEcho: number // RFC 1122 section 3.2.2.6: may be discarded (no smurf amplifier)
    icmpDropTooLong: number // reply would not fit our MTU
    icmpEchoRequests: number
    icmpOther: number // any other type: counted and ignored
    icmpEchoRepliesSent: number
    // ---- transmit
    ipTx: number // datagrams accepted by sendIpv4 (queued or waiting for ARP)
    txDropPoolEmpty: number // no free frame: the caller drops (TCP retries)
    txDropNoRoute: number // off-subnet without gateway, unusable destination
    txDropTooLong: number
    txDropArpTableFull: number // every ARP entry is pending or protected
    txFramesOut: number // frames handed to the pump
    txBytesOut: number
    txDeviceErrors: number // the device refused a frame (counted by the pump)
    // ---- ARP table
    arpRequestsSent: number
    /** RFC 5227 announcements of our own address. */
    arpAnnouncementsSent: number
    arpRepliesSent: number
    arpPendingReplaced: number // a newer packet for an unresolved address replaced the older
    arpResolveTimeouts: number // address never answered: its pending packet was dropped
    arpLearned: number // entries created from packets addressed to us
    arpUpdated: number // RFC 826 merge: existing entry refreshed
    arpEvictions: number
    arpExpired: number
}

/**
 * Adds one to counter k. A call is about half the function code of `c.k++` in DeviceScript,
 * and the interface has some fifty counting sites; k is checked against the fields by tsc.
 */
export function count(c: InterfaceCounters, k: keyof InterfaceCounters): void {
    c[k]++
}

/**
 * A counters object with every field 0. Its keys are string literals (image strings, no
 * heap; JSON.parse made each a ~25-byte heap string), see zeroFields;
 * test/status-counters.test.ts checks that every field above is set, in order.
 */
export function newInterfaceCounters(): InterfaceCounters {
    const c = zeroFields<InterfaceCounters>({}, "rxFrames", "rxBytes", "ethDropShort", "ethDropNotOurs",
        "ethDropMulticast", "ethDropIpv6", "ethDropOtherType")
    zeroFields<InterfaceCounters>(c, "arpDropMalformed", "arpDropNoAddress", "arpDropBadSender",
        "arpDropConflict", "arpNotForUs", "arpGratuitous", "arpRequestsForUs")
    zeroFields<InterfaceCounters>(c, "arpRepliesForUs", "ipDropShort", "ipDropVersion",
        "ipDropHeaderLen", "ipDropTotalLen", "ipDropChecksum", "ipDropFragment")
    zeroFields<InterfaceCounters>(c, "ipDropNotForUs", "ipDropBadSource", "ipDropUnknownProtocol",
        "ipDelivered", "internalErrors", "icmpDropShort", "icmpDropChecksum")
    zeroFields<InterfaceCounters>(c, "icmpDropNoAddress", "icmpDropBroadcastEcho", "icmpDropTooLong",
        "icmpEchoRequests", "icmpOther", "icmpEchoRepliesSent", "ipTx")
    zeroFields<InterfaceCounters>(c, "txDropPoolEmpty", "txDropNoRoute", "txDropTooLong",
        "txDropArpTableFull", "txFramesOut", "txBytesOut", "txDeviceErrors")
    zeroFields<InterfaceCounters>(c, "arpRequestsSent", "arpAnnouncementsSent", "arpRepliesSent",
        "arpPendingReplaced", "arpResolveTimeouts", "arpLearned", "arpUpdated")
    zeroFields<InterfaceCounters>(c, "arpEvictions", "arpExpired")
    return c
}
