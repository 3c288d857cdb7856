// The eleven connection states of RFC 9293 §3.3.2.

export const enum TcpState {
    Closed = 0,
    Listen = 1,
    SynSent = 2,
    SynReceived = 3,
    Established = 4,
    FinWait1 = 5,
    FinWait2 = 6,
    CloseWait = 7,
    Closing = 8,
    LastAck = 9,
    TimeWait = 10,
}

/** The RFC's name of a state ("SYN-SENT"), for logs and netstat. */
export function stateName(s: number): string {
    switch (s) {
        case TcpState.Closed: return "CLOSED"
        case TcpState.Listen: return "LISTEN"
        case TcpState.SynSent: return "SYN-SENT"
        case TcpState.SynReceived: return "SYN-RECEIVED"
        case TcpState.Established: return "ESTABLISHED"
        case TcpState.FinWait1: return "FIN-WAIT-1"
        case TcpState.FinWait2: return "FIN-WAIT-2"
        case TcpState.CloseWait: return "CLOSE-WAIT"
        case TcpState.Closing: return "CLOSING"
        case TcpState.LastAck: return "LAST-ACK"
        case TcpState.TimeWait: return "TIME-WAIT"
    }
    return "?"
}

/** States in which both sequence spaces are synchronized (RFC 9293 §3.10.7.4). */
export function isSynchronized(s: number): boolean {
    return s >= TcpState.SynReceived
}
