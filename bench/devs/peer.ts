// The other end of the VM cost bench's connection, played by the bench itself: it
// writes Ethernet + IPv4 + TCP frames with the stack's own emitters, and reads the
// device's frames where the fake chip left them. A data frame is built once per size;
// each next segment only changes SEQ/ACK and patches the checksum incrementally
// (RFC 1624), so the peer costs little next to the device (and its cost is measured and
// subtracted anyway).
import { EthernetRepr, ETHERTYPE_IPV4, ethernetEmit } from "../../src/wire/ethernet"
import { Ipv4Repr, ipv4Emit, IPV4_PROTO_TCP } from "../../src/wire/ipv4"
import { TcpRepr, emitTcp, fillTcpChecksum, TCP_ACK, TCP_PSH, TCP_SYN } from "../../src/wire/tcp"
import { copyBytes, getU16BE, getU32BE, setU16BE, setU32BE } from "../../src/util/bytes"
import { foldTo16 } from "../../src/util/checksum"

/** Where the TCP header starts in a frame (no IP options). */
export const TCP_OFF = 34
const SEQ_OFF = TCP_OFF + 4
const ACK_OFF = TCP_OFF + 8
const SUM_OFF = TCP_OFF + 16

/** RFC 1624 eqn. 3: the checksum at sumOff after a 32-bit field changed from old to now. */
function patch32(buf: Buffer, sumOff: number, old: number, now: number): void {
    let s = ~getU16BE(buf, sumOff) & 0xffff
    s += ~(old >>> 16) & 0xffff
    s += ~old & 0xffff
    s += now >>> 16
    s += now & 0xffff
    setU16BE(buf, sumOff, ~foldTo16(s) & 0xffff)
}

/** @devsWhenUsed */
export class Peer {
    mac: Buffer
    devMac: Buffer
    /** Data segments (built by buildData) and control segments (SYN, pure ACK). */
    data: Buffer
    dataLen = 0
    ctl: Buffer
    ctlLen = 0
    private eth: EthernetRepr
    private ip: Ipv4Repr
    private tcp: TcpRepr

    constructor(
        peerMac: number[],
        deviceMac: number[],
        public peerIp: number,
        public devIp: number,
        public peerPort: number,
        public devPort: number
    ) {
        this.mac = Buffer.from(peerMac)
        this.devMac = Buffer.from(deviceMac)
        this.data = Buffer.alloc(1514)
        this.ctl = Buffer.alloc(64)
        this.eth = new EthernetRepr()
        copyBytes(this.eth.dst, 0, this.devMac, 0, 6)
        copyBytes(this.eth.src, 0, this.mac, 0, 6)
        this.eth.etherType = ETHERTYPE_IPV4
        this.ip = new Ipv4Repr()
        this.ip.dontFragment = true
        this.ip.ttl = 64
        this.ip.protocol = IPV4_PROTO_TCP
        this.ip.src = peerIp
        this.ip.dst = devIp
        this.tcp = new TcpRepr()
    }

    /** Writes a whole frame (headers, payload pattern, checksums) into buf; returns its length. */
    private build(buf: Buffer, flags: number, seq: number, ack: number, mss: number, payloadLen: number): number {
        const t = this.tcp
        t.clear()
        t.srcPort = this.peerPort
        t.dstPort = this.devPort
        t.seq = seq
        t.ack = ack
        t.flags = flags
        t.window = 65535
        t.mss = mss
        const hlen = emitTcp(t, buf, TCP_OFF)
        for (let i = 0; i < payloadLen; i++) buf[TCP_OFF + hlen + i] = (i * 7 + 1) & 0xff
        fillTcpChecksum(buf, TCP_OFF, hlen + payloadLen, this.peerIp, this.devIp)
        this.ip.payloadLen = hlen + payloadLen
        this.ip.ident = (this.ip.ident + 1) & 0xffff
        ipv4Emit(this.ip, buf, 14)
        ethernetEmit(this.eth, buf, 0)
        let len = TCP_OFF + hlen + payloadLen
        if (len < 60) {
            for (let i = len; i < 60; i++) buf[i] = 0
            len = 60
        }
        return len
    }

    /** The SYN that opens the connection (MSS 1460), in ctl. */
    syn(iss: number): void {
        this.ctlLen = this.build(this.ctl, TCP_SYN, iss, 0, 1460, 0)
    }

    /** A pure ACK in ctl. */
    ack(seq: number, ack: number): void {
        this.ctlLen = this.build(this.ctl, TCP_ACK, seq, ack, 0, 0)
    }

    /** Builds the data frame template: payloadLen bytes at seq, acking ack. */
    buildData(payloadLen: number, seq: number, ack: number): void {
        this.dataLen = this.build(this.data, TCP_ACK | TCP_PSH, seq, ack, 0, payloadLen)
    }

    /** The data frame for the next segment: new SEQ and ACK, checksum patched. */
    nextData(seq: number, ack: number): void {
        const b = this.data
        const oldSeq = getU32BE(b, SEQ_OFF)
        const oldAck = getU32BE(b, ACK_OFF)
        setU32BE(b, SEQ_OFF, seq)
        setU32BE(b, ACK_OFF, ack)
        patch32(b, SUM_OFF, oldSeq, seq)
        patch32(b, SUM_OFF, oldAck, ack)
    }

    /** The same for the control frame (a pure ACK acking further). */
    nextAck(ack: number): void {
        const b = this.ctl
        const old = getU32BE(b, ACK_OFF)
        setU32BE(b, ACK_OFF, ack)
        patch32(b, SUM_OFF, old, ack)
    }
}

/** SEQ of the device's TCP segment at mem[off..] (a frame the fake chip captured). */
export function frameSeq(mem: Buffer, off: number): number {
    return getU32BE(mem, off + SEQ_OFF)
}

/** Payload length of the device's TCP segment at mem[off..]. */
export function framePayload(mem: Buffer, off: number): number {
    const ipTotal = getU16BE(mem, off + 16)
    const tcpHdr = (mem[off + TCP_OFF + 12] >> 4) * 4
    return ipTotal - 20 - tcpHdr
}

/** TCP flags of the device's segment at mem[off..]. */
export function frameFlags(mem: Buffer, off: number): number {
    return mem[off + TCP_OFF + 13]
}

/** True when the frame at mem[off..] is IPv4 carrying TCP. */
export function isTcp(mem: Buffer, off: number): boolean {
    return mem[off + 12] === 0x08 && mem[off + 13] === 0 && mem[off + 23] === 6
}
