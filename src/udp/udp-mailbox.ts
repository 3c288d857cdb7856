// A UDP endpoint that receives into the caller's buffer: it holds one datagram until
// read (later ones are dropped and counted: a bounded, allocation-free receive queue).

import { copyBytes } from "../util/bytes"
import { UdpHandler } from "./udp-layer"

/** @devsWhenUsed */
export class UdpMailbox implements UdpHandler {
    /** The caller's buffer; the held datagram is buf[0..len). */
    buf: Buffer
    /** Bytes held (0 = empty), and where they came from. */
    len: number
    src: number
    srcPort: number
    /** Datagrams dropped because one was still held, or longer than buf (truncated ones are not kept). */
    dropped: number

    constructor(buf: Buffer) {
        this.buf = buf
        this.len = 0
        this.src = 0
        this.srcPort = 0
        this.dropped = 0
    }

    udpInput(buf: Buffer, off: number, len: number, src: number, srcPort: number, dst: number, now: number): void {
        if (this.len > 0 || len > this.buf.length || len === 0) {
            this.dropped++
            return
        }
        copyBytes(this.buf, 0, buf, off, len)
        this.len = len
        this.src = src
        this.srcPort = srcPort
    }

    /** Length of the held datagram (now free for the next), or 0 when none. */
    take(): number {
        const n = this.len
        this.len = 0
        return n
    }
}
