// Error codes of the TCP layer, numbered as Linux errno so a socket layer can pass them on.
//
// API calls return a negative code (-ECONNRESET ...) on failure; a connection's pending
// error (error()) is the positive code. RECV_EOF (-1) is not an errno: no code below is 1.

export const EBADF = 9
export const EAGAIN = 11
export const EINVAL = 22
export const EMFILE = 24
export const EPIPE = 32
export const EADDRINUSE = 98
export const EADDRNOTAVAIL = 99
export const ENETUNREACH = 101
export const ECONNABORTED = 103
export const ECONNRESET = 104
export const ENOBUFS = 105
export const EISCONN = 106
export const ENOTCONN = 107
export const ETIMEDOUT = 110
export const ECONNREFUSED = 111

/** recv() result for "the peer closed its half; no more data will come". */
export const RECV_EOF = -1

/** A short name for an error code ("ECONNRESET"), for logs and netstat. */
export function errorName(code: number): string {
    if (code < 0) code = -code
    switch (code) {
        case 0: return "OK"
        case EBADF: return "EBADF"
        case EAGAIN: return "EAGAIN"
        case EINVAL: return "EINVAL"
        case EMFILE: return "EMFILE"
        case EPIPE: return "EPIPE"
        case EADDRINUSE: return "EADDRINUSE"
        case EADDRNOTAVAIL: return "EADDRNOTAVAIL"
        case ENETUNREACH: return "ENETUNREACH"
        case ECONNABORTED: return "ECONNABORTED"
        case ECONNRESET: return "ECONNRESET"
        case ENOBUFS: return "ENOBUFS"
        case EISCONN: return "EISCONN"
        case ENOTCONN: return "ENOTCONN"
        case ETIMEDOUT: return "ETIMEDOUT"
        case ECONNREFUSED: return "ECONNREFUSED"
    }
    return "E" + code
}

/** An error carrying one of the codes above, for socket layers that throw. */
export class SocketError extends Error {
    code: number
    constructor(code: number, message?: string) {
        super(message ? message : errorName(code))
        this.code = code < 0 ? -code : code
        this.name = "SocketError"
    }
}
