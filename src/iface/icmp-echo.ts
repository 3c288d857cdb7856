// ICMP on the interface: answers echo requests (RFC 792, RFC 1122 section 3.2.2.6),
// counts and ignores every other message.

import { copyBytes } from "../util/bytes"
import { ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_ERR_SHORT, ICMP_HEADER_LEN, IcmpEchoRepr, icmpCheck, icmpEchoEmit, icmpEchoParse } from "../wire/icmp"
import { IPV4_HEADER_LEN, IPV4_PROTO_ICMP } from "../wire/ipv4"
import { IPV4_PAYLOAD_OFFSET, Interface, Ipv4Handler } from "./interface"
import { count } from "./counters"

/** @devsWhenUsed */
export class IcmpEchoResponder implements Ipv4Handler {
    private repr: IcmpEchoRepr
    constructor() {
        this.repr = new IcmpEchoRepr()
    }

    ipv4Input(iface: Interface, buf: Buffer, payloadOff: number, payloadLen: number, src: number, dst: number, now: number): void {
        const c = iface.counters
        const r = this.repr
        if (!icmpEchoParse(buf, payloadOff, payloadLen, r)) {
            if (icmpCheck(buf, payloadOff, payloadLen) === ICMP_ERR_SHORT) count(c, "icmpDropShort")
            else count(c, "icmpDropChecksum")
            return
        }
        if (r.type !== ICMP_ECHO_REQUEST || r.code !== 0) {
            count(c, "icmpOther")
            return
        }
        if (iface.ip === 0) {
            count(c, "icmpDropNoAddress")
            return
        }
        if (dst !== iface.ip) {
            count(c, "icmpDropBroadcastEcho")
            return
        }
        if (payloadLen + IPV4_HEADER_LEN > iface.mtu) {
            count(c, "icmpDropTooLong")
            return
        }
        count(c, "icmpEchoRequests")
        const f = iface.allocIpv4Frame()
        if (f === null) return // counted by the interface
        // The reply carries the same identifier, sequence number and data.
        copyBytes(f.buf, IPV4_PAYLOAD_OFFSET + ICMP_HEADER_LEN, buf, payloadOff + ICMP_HEADER_LEN, r.dataLen)
        r.type = ICMP_ECHO_REPLY
        icmpEchoEmit(r, f.buf, IPV4_PAYLOAD_OFFSET)
        if (iface.sendIpv4(f, src, IPV4_PROTO_ICMP, payloadLen, now)) count(c, "icmpEchoRepliesSent")
    }
}
