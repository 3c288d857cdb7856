// One-line summaries of frames at the device's jack, for `npm run sim -- --trace`
// (tshark on the --pcap file is the tool for anything deeper).

function ip4(f: Buffer, off: number): string {
    return `${f[off]}.${f[off + 1]}.${f[off + 2]}.${f[off + 3]}`
}

function mac(f: Buffer, off: number): string {
    return f.toString("hex", off, off + 6).replace(/(..)(?!$)/g, "$1:")
}

const TCP_FLAGS = ["F", "S", "R", "P", ".", "U", "E", "C"]

function tcpSummary(f: Buffer, t: number, payloadEnd: number): string {
    if (payloadEnd < t + 20) return "TCP (truncated)"
    let flags = ""
    for (let i = 0; i < 8; i++) if (f[t + 13] & (1 << i)) flags += TCP_FLAGS[i]
    const dataOff = (f[t + 12] >> 4) * 4
    const len = Math.max(0, payloadEnd - t - dataOff)
    return `TCP ${f.readUInt16BE(t)} > ${f.readUInt16BE(t + 2)} [${flags}] seq ${f.readUInt32BE(t + 4)} ack ${f.readUInt32BE(t + 8)} win ${f.readUInt16BE(t + 14)} len ${len}`
}

/** A tcpdump-like line for one frame (no FCS). Never throws on malformed input. */
export function summarizeFrame(f: Buffer): string {
    if (f.length < 14) return `runt frame (${f.length} bytes)`
    const type = f.readUInt16BE(12)
    const head = `${mac(f, 6)} > ${mac(f, 0)}`
    if (type === 0x0806 && f.length >= 42) {
        const op = f.readUInt16BE(20)
        if (op === 1) return `${head} ARP who-has ${ip4(f, 38)} tell ${ip4(f, 28)}`
        if (op === 2) return `${head} ARP ${ip4(f, 28)} is-at ${mac(f, 22)}`
        return `${head} ARP op ${op}`
    }
    if (type === 0x0800 && f.length >= 34) {
        const ihl = (f[14] & 0x0f) * 4
        const total = f.readUInt16BE(16)
        const end = Math.min(f.length, 14 + total)
        const l4 = 14 + ihl
        const addrs = `${ip4(f, 26)} > ${ip4(f, 30)}`
        const proto = f[23]
        if (proto === 1 && end >= l4 + 8) {
            const kind = f[l4] === 8 ? "echo request" : f[l4] === 0 ? "echo reply" : `type ${f[l4]} code ${f[l4 + 1]}`
            return `${addrs} ICMP ${kind} id ${f.readUInt16BE(l4 + 4)} seq ${f.readUInt16BE(l4 + 6)} len ${end - l4 - 8}`
        }
        if (proto === 6) return `${addrs} ${tcpSummary(f, l4, end)}`
        if (proto === 17 && end >= l4 + 8) return `${addrs} UDP ${f.readUInt16BE(l4)} > ${f.readUInt16BE(l4 + 2)} len ${end - l4 - 8}`
        return `${addrs} IPv4 proto ${proto} len ${total}`
    }
    return `${head} ethertype 0x${type.toString(16).padStart(4, "0")} len ${f.length}`
}
