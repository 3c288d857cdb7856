// The chip model's wire side (its RJ45 jack) as a FramePort.
//
// The chip calls onWireTransmit with frames it sends; frames put on this port's wire are
// handed to deliverFromWire, which returns false when the chip drops them (receiver off,
// filter, buffer full) — counted here so a test can see frames that went nowhere.

import { FrameHandler, FramePort } from "./frame-port"

/** What this port needs from the chip model (sim/enc28j60/chip.ts). */
export interface WireSide {
    deliverFromWire(frame: Buffer): boolean
    onWireTransmit: (frame: Buffer) => void
}

/** Sees every frame at the chip's jack: outbound = sent by the chip, else arriving from the wire. */
export type JackObserver = (frame: Buffer, outbound: boolean) => void

export class ChipPort implements FramePort {
    private handler: FrameHandler = null
    private observers: JackObserver[] = []
    private closed = false
    /** Frames the chip accepted / dropped. */
    delivered = 0
    dropped = 0

    constructor(private readonly chip: WireSide) {
        chip.onWireTransmit = (frame) => {
            if (this.closed) return
            // The chip may reuse its buffer; what leaves it is ours to keep.
            const copy = Buffer.from(frame)
            for (const o of this.observers) o(copy, true)
            if (this.handler) this.handler(copy)
        }
    }

    /** Adds an observer (pcap, tracer) of both directions; frames the chip drops are seen too. */
    observe(observer: JackObserver): void {
        this.observers.push(observer)
    }

    send(frame: Buffer): void {
        if (this.closed) return
        for (const o of this.observers) o(frame, false)
        if (this.chip.deliverFromWire(frame)) this.delivered++
        else this.dropped++
    }

    onFrame(handler: FrameHandler): void {
        this.handler = handler
    }

    async close(): Promise<void> {
        this.closed = true
    }
}
