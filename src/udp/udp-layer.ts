// The UDP layer: a bounded table of bound ports on top of the interface. Input is
// checked (length, checksum incl. pseudo-header) and handed to the port's handler
// in place; output is built in a pool frame at UDP_DATA_OFFSET, so nothing is
// allocated per datagram. Datagrams to an unbound port are dropped and counted
// (no ICMP port unreachable: it would cost a frame and code for little use here).

import { copyBytes, getU16BE } from "../util/bytes"
import { IPV4_PAYLOAD_OFFSET, Interface, Ipv4Handler } from "../iface/interface"
import { TxFrame } from "../iface/tx-pool"
import { UDP_ERR_CHECKSUM, UDP_HEADER_LEN, UDP_OK, udpCheck, udpEmit } from "../wire/udp"

/** Where a sender writes UDP data in a frame from UdpLayer.allocFrame(). */
export const UDP_DATA_OFFSET = IPV4_PAYLOAD_OFFSET + UDP_HEADER_LEN

/** Gets every datagram for its port. buf is reused after the call returns: copy what must be kept. */
export interface UdpHandler {
    udpInput(buf: Buffer, off: number, len: number, src: number, srcPort: number, dst: number, now: number): void
}

/** @devsWhenUsed */
export class UdpLayer implements Ipv4Handler {
    iface: Interface
    /** Datagrams delivered, and dropped: malformed (short/length), bad checksum, no port bound. */
    rxDelivered: number
    rxDropMalformed: number
    rxDropChecksum: number
    rxDropNoPort: number
    txSent: number
    private ports: number[]
    private handlers: UdpHandler[]
    private maxPorts: number

    constructor(iface: Interface, maxPorts: number) {
        this.iface = iface
        this.maxPorts = maxPorts
        this.ports = []
        this.handlers = []
        this.rxDelivered = 0
        this.rxDropMalformed = 0
        this.rxDropChecksum = 0
        this.rxDropNoPort = 0
        this.txSent = 0
        iface.registerIpv4Handler(17, this)
    }

    /** Routes a local port to a handler. False when the port is taken or the table is full. */
    bind(port: number, handler: UdpHandler): boolean {
        if (this.ports.indexOf(port) >= 0 || this.ports.length >= this.maxPorts) return false
        this.ports.push(port)
        this.handlers.push(handler)
        return true
    }

    ipv4Input(iface: Interface, buf: Buffer, off: number, len: number, src: number, dst: number, now: number): void {
        const why = udpCheck(buf, off, len, src, dst)
        if (why !== UDP_OK) {
            if (why === UDP_ERR_CHECKSUM) this.rxDropChecksum++
            else this.rxDropMalformed++
            return
        }
        const i = this.ports.indexOf(getU16BE(buf, off + 2))
        if (i < 0) {
            this.rxDropNoPort++
            return
        }
        this.rxDelivered++
        this.handlers[i].udpInput(buf, off + UDP_HEADER_LEN, getU16BE(buf, off + 4) - UDP_HEADER_LEN, src, getU16BE(buf, off), dst, now)
    }

    /** A free frame to write data into at UDP_DATA_OFFSET, or null (counted by the interface). */
    allocFrame(): TxFrame {
        return this.iface.allocIpv4Frame()
    }

    /** Sends the dataLen bytes at frame.buf[UDP_DATA_OFFSET]. Always takes the frame; false = dropped. */
    sendFrame(frame: TxFrame, srcPort: number, dst: number, dstPort: number, dataLen: number, now: number): boolean {
        const iface = this.iface
        const len = udpEmit(frame.buf, IPV4_PAYLOAD_OFFSET, srcPort, dstPort, dataLen, iface.ip, dst)
        if (!iface.sendIpv4(frame, dst, 17, len, now)) return false
        this.txSent++
        return true
    }

    /** Copies data[off..off+len) into a frame and sends it. False when no frame is free or it was dropped. */
    sendTo(srcPort: number, dst: number, dstPort: number, data: Buffer, off: number, len: number, now: number): boolean {
        const f = this.allocFrame()
        if (f === null) return false
        if (UDP_DATA_OFFSET + len > f.buf.length) {
            this.iface.releaseFrame(f)
            return false
        }
        copyBytes(f.buf, UDP_DATA_OFFSET, data, off, len)
        return this.sendFrame(f, srcPort, dst, dstPort, len, now)
    }
}
