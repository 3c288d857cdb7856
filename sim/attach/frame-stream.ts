// passt's frame stream on its UNIX socket (the qemu "stream" netdev format): each Ethernet
// frame is a 4-byte big-endian length followed by the frame, no padding. A read may end
// anywhere — inside the length, inside a frame, or after several frames — so the decoder
// buffers until a whole frame is there.

/** Largest frame accepted from the stream: passt's maximum (64 KiB) and some. */
export const MAX_STREAM_FRAME = 65536 + 14

/** Length prefix + frame in one buffer, so it goes out in one write (passt waits for split frames). */
export function encodeStreamFrame(frame: Buffer): Buffer {
    const out = Buffer.alloc(4 + frame.length)
    out.writeUInt32BE(frame.length, 0)
    frame.copy(out, 4)
    return out
}

export class FrameStreamDecoder {
    private chunks: Buffer[] = []
    private buffered = 0
    private broken = false
    /** Frames decoded, and why the stream was given up (null while it is fine). */
    frames = 0
    error: string = null

    constructor(private readonly onFrame: (frame: Buffer) => void) {}

    /** Feeds bytes as they were read. Once the stream is broken, further input is ignored. */
    push(chunk: Buffer): void {
        if (this.broken || chunk.length === 0) return
        this.chunks.push(chunk)
        this.buffered += chunk.length
        while (this.buffered >= 4) {
            const head = this.peek(4)
            const len = head.readUInt32BE(0)
            if (len === 0 || len > MAX_STREAM_FRAME) {
                // No resynchronisation is possible in a length-prefixed stream.
                this.broken = true
                this.error = `bad frame length ${len}`
                this.chunks = []
                this.buffered = 0
                return
            }
            if (this.buffered < 4 + len) return
            const all = this.take(4 + len)
            this.frames++
            this.onFrame(all.subarray(4))
        }
    }

    /** Bytes held back waiting for the rest of a frame. */
    pendingBytes(): number {
        return this.buffered
    }

    private peek(n: number): Buffer {
        if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)]
        return this.chunks[0]
    }

    private take(n: number): Buffer {
        const first = this.peek(n)
        const out = Buffer.from(first.subarray(0, n))
        if (first.length === n) this.chunks.shift()
        else this.chunks[0] = first.subarray(n)
        this.buffered -= n
        return out
    }
}
