// A point-to-point link: a cable between two FramePorts. Frames arriving at one end are sent
// out of the other. Observers (the pcap writer, tests, a tracer) see every frame with the
// index of the port it came from.
//
// A switch (several ports, learning, fault injection) will be another thing that connects
// ports; it would take the same ports and observers.

import { FramePort } from "./frame-port"

/** Sees a frame crossing the link; `from` is the index (0 or 1) of the port it arrived at. */
export type LinkObserver = (frame: Buffer, from: number) => void

export class PointToPointLink {
    readonly ports: FramePort[]
    private observers: LinkObserver[] = []
    private closed = false
    /** Frames carried from port 0 to port 1, and from port 1 to port 0. */
    readonly carried = [0, 0]

    constructor(a: FramePort, b: FramePort) {
        this.ports = [a, b]
        a.onFrame((frame) => this.carry(frame, 0))
        b.onFrame((frame) => this.carry(frame, 1))
    }

    observe(observer: LinkObserver): void {
        this.observers.push(observer)
    }

    private carry(frame: Buffer, from: number): void {
        if (this.closed) return
        this.carried[from]++
        for (const o of this.observers) o(frame, from)
        this.ports[1 - from].send(frame)
    }

    /** Stops carrying frames and closes both ports. */
    async close(): Promise<void> {
        if (this.closed) return
        this.closed = true
        await Promise.all(this.ports.map((p) => p.close()))
    }
}
