// Classic libpcap capture files (the format tcpdump -w writes): a 24-byte global header,
// then per frame a 16-byte record header and the frame. LINKTYPE_ETHERNET, microsecond
// timestamps, little-endian. Frames are stored without FCS, as the stack sees them.
// Format: https://wiki.wireshark.org/Development/LibpcapFileFormat

import { closeSync, openSync, writeSync } from "node:fs"

export const PCAP_MAGIC_US = 0xa1b2c3d4
export const LINKTYPE_ETHERNET = 1
export const PCAP_SNAPLEN = 65535

/** Time source for captures: microseconds since the Unix epoch of the wall clock. */
export function wallClockUs(): number {
    return Math.round((performance.timeOrigin + performance.now()) * 1000)
}

export function pcapGlobalHeader(snapLen: number = PCAP_SNAPLEN): Buffer {
    const h = Buffer.alloc(24)
    h.writeUInt32LE(PCAP_MAGIC_US, 0)
    h.writeUInt16LE(2, 4) // version 2.4
    h.writeUInt16LE(4, 6)
    h.writeInt32LE(0, 8) // thiszone: timestamps are UTC
    h.writeUInt32LE(0, 12) // sigfigs
    h.writeUInt32LE(snapLen, 16)
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20)
    return h
}

export function pcapRecord(frame: Buffer, tsUs: number, snapLen: number = PCAP_SNAPLEN): Buffer {
    const incl = Math.min(frame.length, snapLen)
    const r = Buffer.alloc(16 + incl)
    const us = Math.max(0, Math.floor(tsUs))
    r.writeUInt32LE(Math.floor(us / 1e6) >>> 0, 0)
    r.writeUInt32LE(us % 1e6, 4)
    r.writeUInt32LE(incl, 8)
    r.writeUInt32LE(frame.length, 12)
    frame.copy(r, 16, 0, incl)
    return r
}

/**
 * Appends frames to a capture file. Each write goes straight to the file (synchronously),
 * so the file is a valid capture at every moment, even if the process is killed.
 */
export class PcapWriter {
    private fd: number
    frames = 0

    constructor(
        readonly path: string,
        private readonly nowUs: () => number = wallClockUs,
    ) {
        this.fd = openSync(path, "w")
        writeSync(this.fd, pcapGlobalHeader())
    }

    /** Records one frame, stamped with tsUs (default: the writer's clock). */
    write(frame: Buffer, tsUs: number = this.nowUs()): void {
        if (this.fd < 0) return
        writeSync(this.fd, pcapRecord(frame, tsUs))
        this.frames++
    }

    close(): void {
        if (this.fd < 0) return
        closeSync(this.fd)
        this.fd = -1
    }
}

export interface PcapFrame {
    tsUs: number
    /** Length on the wire (may exceed frame.length when the snap length cut it). */
    origLength: number
    frame: Buffer
}

export interface PcapFile {
    linkType: number
    snapLen: number
    frames: PcapFrame[]
}

/** Parses a classic microsecond pcap of either byte order. Throws on anything malformed. */
export function parsePcap(buf: Buffer): PcapFile {
    if (buf.length < 24) throw new Error("pcap: shorter than the global header")
    let le: boolean
    if (buf.readUInt32LE(0) === PCAP_MAGIC_US) le = true
    else if (buf.readUInt32BE(0) === PCAP_MAGIC_US) le = false
    else throw new Error(`pcap: unknown magic 0x${buf.readUInt32BE(0).toString(16)}`)
    const u32 = (off: number) => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off))
    const frames: PcapFrame[] = []
    let off = 24
    while (off < buf.length) {
        if (off + 16 > buf.length) throw new Error(`pcap: truncated record header at ${off}`)
        const incl = u32(off + 8)
        if (off + 16 + incl > buf.length) throw new Error(`pcap: truncated frame at ${off}`)
        frames.push({
            tsUs: u32(off) * 1e6 + u32(off + 4),
            origLength: u32(off + 12),
            frame: Buffer.from(buf.subarray(off + 16, off + 16 + incl)),
        })
        off += 16 + incl
    }
    return { linkType: u32(20), snapLen: u32(16), frames }
}
