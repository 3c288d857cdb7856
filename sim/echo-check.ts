// One device's TCP client against another device's echo server, through the stack's own
// socket API (the same calls the firmware's apps make): `npm run sim -- --devices N` runs it
// from every device to device 1 at start-up, to show the devices reach each other through
// the switch (ARP, handshake, data both ways, close).

import { SimDevice } from "./device"

export interface EchoCheckResult {
    ok: boolean
    /** Bytes that came back, and why it failed (empty when ok). */
    received: number
    error: string
    ms: number
}

/** Sends `bytes` bytes of a pattern from `from` to `to`'s echo port 7 and compares what comes back. */
export async function echoCheck(from: SimDevice, to: SimDevice, bytes = 4096, timeoutMs = 30000): Promise<EchoCheckResult> {
    const t0 = performance.now()
    const data = Buffer.alloc(bytes)
    for (let i = 0; i < bytes; i++) data[i] = (i * 31 + (i >> 8)) & 0xff
    const got = Buffer.alloc(bytes)
    let received = 0
    let error = ""
    try {
        const s = await from.sockets.connect(to.config.ip, 7, timeoutMs)
        try {
            s.setReadTimeout(timeoutMs)
            s.setWriteTimeout(timeoutMs)
            // Echo answers as it reads: write and read in turn, a chunk at a time.
            for (let off = 0; off < bytes; ) {
                const n = await s.write(data, off, Math.min(1024, bytes - off))
                off += n
                while (received < off) {
                    const r = await s.read(got, received, bytes - received)
                    if (r <= 0) throw new Error(`end of stream after ${received} of ${bytes} bytes`)
                    received += r
                }
            }
        } finally {
            await s.close()
        }
        if (!got.equals(data)) error = "the echo differs from what was sent"
    } catch (e) {
        error = (e as Error).message
    }
    return { ok: error === "", received, error, ms: Math.round(performance.now() - t0) }
}
