// Two FramePorts joined back to back in memory: what one side sends arrives at the other.
// For tests that play the peer themselves. Delivery is deferred to a microtask, like a real
// wire, so a sender is never re-entered by the reply to its own frame.

import { FrameHandler, FramePort } from "./frame-port"

class MemoryPort implements FramePort {
    peer: MemoryPort = null
    handler: FrameHandler = null
    closed = false

    send(frame: Buffer): void {
        const peer = this.peer
        if (this.closed || peer.closed) return
        const copy = Buffer.from(frame)
        queueMicrotask(() => {
            if (!peer.closed && peer.handler) peer.handler(copy)
        })
    }

    onFrame(handler: FrameHandler): void {
        this.handler = handler
    }

    async close(): Promise<void> {
        this.closed = true
    }
}

/** Returns two connected ports. */
export function createPortPair(): [FramePort, FramePort] {
    const a = new MemoryPort()
    const b = new MemoryPort()
    a.peer = b
    b.peer = a
    return [a, b]
}
