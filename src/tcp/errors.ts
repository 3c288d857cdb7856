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

/**
 * "code NAME" pairs between ";"s. A lookup in a string: in DeviceScript a string is data,
 * while a switch of returns is function code (the image holds at most 64 KB of that).
 */
const ERROR_NAMES =
    ";0 OK;9 EBADF;11 EAGAIN;22 EINVAL;24 EMFILE;32 EPIPE;98 EADDRINUSE;99 EADDRNOTAVAIL;101 ENETUNREACH" +
    ";103 ECONNABORTED;104 ECONNRESET;105 ENOBUFS;106 EISCONN;107 ENOTCONN;110 ETIMEDOUT;111 ECONNREFUSED;"

/** A short name for an error code ("ECONNRESET"), for logs and netstat. */
export function errorName(code: number): string {
    if (code < 0) code = -code
    const key = ";" + code + " "
    const at = ERROR_NAMES.indexOf(key)
    if (at < 0) return "E" + code
    const start = at + key.length
    return ERROR_NAMES.slice(start, ERROR_NAMES.indexOf(";", start))
}

/** An error carrying one of the codes above, for socket layers that throw. */
/** @devsWhenUsed */
export class SocketError extends Error {
    code: number
    constructor(code: number, message?: string) {
        super(message ? message : errorName(code))
        this.code = code < 0 ? -code : code
        this.name = "SocketError"
    }
}
