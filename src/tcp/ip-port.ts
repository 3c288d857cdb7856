// What the TCP layer needs from the IPv4 layer below it. src/iface/interface.ts's
// Interface provides exactly this; tests pass a fake with the same shape.

import { AddressListener } from "../iface/interface"

/** A transmit frame from the interface's pool: the IPv4 payload goes at IPV4_PAYLOAD_OFFSET. */
export interface TcpTxFrame {
    buf: Buffer
    len: number
}

export interface TcpIpPort {
    /** Our IPv4 address (uint32); 0 while we have none. */
    ip: number
    /** Largest IP datagram (Ethernet payload). */
    mtu: number
    /** A free frame, or null when all are in use (the layer retries at the next poll). */
    allocIpv4Frame(): TcpTxFrame
    /** Gives back an unsent frame from allocIpv4Frame(). */
    releaseFrame(frame: TcpTxFrame): void
    /** Sends payloadLen bytes at IPV4_PAYLOAD_OFFSET; always takes the frame; false = dropped. */
    sendIpv4(frame: TcpTxFrame, dst: number, protocol: number, payloadLen: number, now: number): boolean
    registerIpv4Handler(protocol: number, handler: any): boolean
    /** Our subnet-directed broadcast address (a fake may leave it out). */
    subnetBroadcast?: number
    /** Told when our address changes; the TCP layer registers itself here. */
    addressListener?: AddressListener
}
