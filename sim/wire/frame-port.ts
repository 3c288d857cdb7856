// One end of a piece of simulated Ethernet cable. Everything that carries frames in the
// simulator (the chip's wire side, passt, a TAP, an in-memory peer) is a FramePort, so the
// things that connect ports (a point-to-point link now, a switch later) don't care what is
// behind them.
//
// Frames are whole Ethernet frames, destination MAC first, without FCS: that is what
// passt, a TAP and the chip model's wire side all exchange.

export type FrameHandler = (frame: Buffer) => void

export interface FramePort {
    /** Puts one frame on this port's wire. The port may keep the buffer: pass a copy you own. */
    send(frame: Buffer): void
    /** Sets the one handler for frames arriving from this port's side (replaces the previous one). */
    onFrame(handler: FrameHandler): void
    /** Releases everything behind the port (processes, sockets, files). Safe to call twice. */
    close(): Promise<void>
}
