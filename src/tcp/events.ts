// Readiness events the TCP layer reports to its user (the socket layer) through
// TcpLayer.onEvent(handle, events). Events are collected while a segment, a timer or an
// API call is processed and delivered once it is done, so the hook may call back into
// the layer. Bits may be combined.

/** Data or end-of-stream can be read (recv() will not return 0). */
export const TCP_EV_READABLE = 1
/** Send buffer space became free, or the connection became established. */
export const TCP_EV_WRITABLE = 2
/** The connection failed (reset, refused, timed out): error() says why. */
export const TCP_EV_ERROR = 4
/** The connection reached CLOSED. */
export const TCP_EV_CLOSED = 8
/** A listener handle: a connection waits in its accept queue. */
export const TCP_EV_ACCEPTABLE = 16

/** (handle, events): for TCP_EV_ACCEPTABLE the handle is a listener handle, else a connection handle. */
export type TcpEventHook = (handle: number, events: number) => void
