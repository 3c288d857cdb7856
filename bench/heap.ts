// Free heap of the firmware under load, measured in the DeviceScript VM (whose heap is the
// ESP32's 64 KB). `node --import tsx bench/heap.ts [-v] [--entry PROBE.ts]` prints it (-v:
// with everything the VM printed); measureHeap() is what a benchmark report calls.
//
// The VM runs test/devs/heap-probe.ts: the unchanged firmware (src/hw/firmware.ts, DHCP from
// passt), which this loads with one echo stream and one discard stream (every byte checked
// or counted) and a status page fetch, so all 3 connection slots are taken; the probe then
// holds 256-byte ballast buffers, one more at a time, until the VM panics with OutOfMemory,
// while the streams keep running. The last total it printed is the free heap at that load,
// after full collections (--test mode collects at every allocation). Accuracy: one buffer
// (256 B) plus the buffers' own headers and the array holding them (together under 1 KB),
// so the figure errs low by at most about 1 KB.
//
// The streams' progress is counted at the device's jack (a pcap of the run), not by the host
// clients: a client's bytesWritten also counts what waits in its own send buffer and in
// passt's socket (passt reads only as far as the device's window): about 11 MB at once,
// whatever the device does.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parsePcap } from "../sim/pcap"
import { startCli } from "../test/helpers/sim-cli"
import { freeTcpPort } from "../test/helpers/ports"

export interface HeapResult {
    /** Ballast the probe held before the panic: the free heap at that load, bytes. */
    freeBytes: number
    /** How the VM ended (the panic line), and the status page's memory line under load. */
    panic: string
    memoryLine: string
    /** Stream bytes at the device's jack: into echo, back out of echo, into discard. */
    load: StreamBytes
    /** The same while the heap filled (from the status page fetch to the panic). */
    filling: StreamBytes
    /** Everything the simulator and the VM printed. */
    log: string
}

export interface StreamBytes {
    echoIn: number
    echoOut: number
    discardIn: number
    /** Wall time the counts cover, ms. */
    ms: number
}

const ECHO = 7
const DISCARD = 9

/**
 * New TCP payload bytes in a capture of the device's jack from time fromUs on (epoch µs):
 * per direction of port 7 and into port 9, each byte once (a retransmission adds nothing).
 */
export function streamBytes(pcap: Buffer, fromUs = 0): StreamBytes {
    const top = new Map<string, number>() // per direction: highest sequence end seen (unwrapped)
    const r: StreamBytes = { echoIn: 0, echoOut: 0, discardIn: 0, ms: 0 }
    let first = -1
    let last = -1
    for (const { tsUs, frame: f } of parsePcap(pcap).frames) {
        if (f.length < 54 || f.readUInt16BE(12) !== 0x0800 || f[23] !== 6) continue
        const ihl = (f[14] & 15) * 4
        const tcp = 14 + ihl
        const src = f.readUInt16BE(tcp)
        const dst = f.readUInt16BE(tcp + 2)
        const len = 14 + f.readUInt16BE(16) - tcp - (f[tcp + 12] >> 4) * 4
        const key = `${src}>${dst}`
        const end = f.readUInt32BE(tcp + 4) + len
        const seen = top.get(key)
        if (seen === undefined || (f[tcp + 13] & 2) !== 0) {
            top.set(key, end + ((f[tcp + 13] & 2) !== 0 ? 1 : 0)) // a SYN takes one number
            continue
        }
        // Unwrap against the highest end so far (sequence numbers wrap at 2^32).
        const ahead = ((end - (seen >>> 0)) << 0)
        if (ahead <= 0) continue
        top.set(key, seen + ahead)
        if (tsUs < fromUs) continue
        if (first < 0) first = tsUs
        last = tsUs
        if (src === ECHO) r.echoOut += ahead
        else if (dst === ECHO) r.echoIn += ahead
        else if (dst === DISCARD) r.discardIn += ahead
    }
    r.ms = first < 0 ? 0 : Math.round((last - first) / 1000)
    return r
}

/** A client that writes 1 KB blocks as fast as the peer takes them, until stopped. */
function stream(port: number, onData: (n: number) => void): Socket {
    const s = new Socket()
    const block = Buffer.alloc(1024, 0x5a)
    const pump = () => {
        while (!s.destroyed && s.write(block));
    }
    s.on("drain", pump)
    s.on("data", (d: Buffer) => onData(d.length))
    s.on("error", () => {})
    s.connect(port, "127.0.0.1", pump)
    return s
}

function httpGet(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
        const s = new Socket()
        let text = ""
        s.on("data", (d: Buffer) => (text += d.toString()))
        // Under this load the page may come with a reset after it (the server gives up
        // writing after its timeout): what arrived counts.
        s.on("error", (e) => (text ? resolve(text) : reject(e)))
        s.on("close", () => resolve(text))
        s.connect(port, "127.0.0.1", () => s.end("GET / HTTP/1.0\r\n\r\n"))
    })
}

/** entry: the probe program (another one, e.g. a variant of the firmware, to compare). */
export async function measureHeap(entry = "test/devs/heap-probe.ts"): Promise<HeapResult> {
    const [echoPort, discardPort, statusPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()]
    const dir = mkdtempSync(join(tmpdir(), "heap-"))
    const pcap = join(dir, "device.pcap")
    const cli = startCli(
        ["--vm", "--port", String(echoPort), "--discard-port", String(discardPort), "--status-port", String(statusPort), "--pcap", pcap],
        { ...process.env, ENC28J60_VM_ENTRY: entry },
    )
    const sockets: Socket[] = []
    try {
        await cli.ready(120000)
        let echoed = 0
        sockets.push(stream(echoPort, (n) => (echoed += n)))
        sockets.push(stream(discardPort, () => {}))
        // Both streams under way before the page (and with it the ballast) is asked for.
        const start = Date.now()
        while (echoed < 4096 && Date.now() - start < 120000) await new Promise((r) => setTimeout(r, 100))
        if (echoed < 4096) throw new Error(`heap: the echo stream did not get going:\n${cli.output()}`)
        const fillingFromUs = Date.now() * 1000 // the page fetch starts the ballast
        let page = ""
        for (let i = 0; i < 5 && !page; i++) page = await httpGet(statusPort).catch(() => "")
        const memoryLine = /^memory: .*$/m.exec(page)?.[0] ?? "(no memory line on the status page)"
        let timer: NodeJS.Timeout
        const end = await Promise.race([cli.exited, new Promise((r) => (timer = setTimeout(r, 600000)))])
        clearTimeout(timer) // (else the process lingers for the full 10 minutes)
        if (!end) throw new Error("heap: the VM did not run out of memory within 10 minutes")
        const out = cli.output()
        const totals = [...out.matchAll(/ballast (\d+) B held/g)].map((m) => +m[1])
        if (totals.length === 0) throw new Error(`heap: the probe printed no ballast line:\n${out}`)
        const panic = out.split("\n").find((l) => /OutOfMemory|PANIC/.test(l)) ?? "(no panic line)"
        await cli.stop("SIGINT") // closes the capture
        const frames = readFileSync(pcap)
        return { freeBytes: totals[totals.length - 1], panic: panic.trim(), memoryLine, load: streamBytes(frames), filling: streamBytes(frames, fillingFromUs), log: out }
    } finally {
        for (const s of sockets) s.destroy()
        await cli.stop("SIGINT")
        rmSync(dir, { recursive: true, force: true })
    }
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const at = process.argv.indexOf("--entry")
    measureHeap(at > 0 ? process.argv[at + 1] : undefined).then((r) => {
        console.log(`free heap under load: ${r.freeBytes} B (${(r.freeBytes / 1024).toFixed(1)} KB of 64 KB)`)
        console.log(`  ${r.memoryLine}`)
        console.log(`  VM ended: ${r.panic}`)
        const line = (b: StreamBytes) => `echo ${b.echoIn} B in, ${b.echoOut} B back; discard ${b.discardIn} B in (${b.ms} ms)`
        console.log(`  under load: ${line(r.load)}`)
        console.log(`  while the heap filled: ${line(r.filling)}`)
        if (process.argv.includes("-v")) console.log(r.log)
    }, (e) => {
        console.error(e instanceof Error ? e.message : e)
        process.exit(1)
    })
}
