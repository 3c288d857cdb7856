// Shared pieces of the interop suites (test/interop-*.test.ts): a simulated device on a TAP
// in a network namespace the test creates (the Linux kernel's TCP is the peer), kernel-side
// TCP clients written in python3 and run inside that namespace, tshark's expert summary of a
// capture, and small byte helpers. Network rule (../../../shared/reference/peers.md): traffic
// only on loopback or inside namespaces created here; everything started is stopped by PID.

import { ChildProcess, execFile, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findExecutable, pidAlive } from "../../sim/attach/process"
import { TapPort, startTap } from "../../sim/attach/tap"
import { SimDevice, SimDeviceOptions, createSimDevice } from "../../sim/device"
import { StackConfig } from "../../src/config"
import { Netns, createNetns, listNetns } from "./netns"

/** The namespace's (kernel's) side of the TAP and the device. */
export const NS_IP = "10.200.0.1"
export const DEVICE_IP = "10.200.0.2"

export { patternBytes, sha256 } from "./data"

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms))
}

export { freeTcpPort } from "./ports"

// ---------------------------------------------------------------------- device in a namespace

export interface KernelRig {
    ns: Netns
    tap: TapPort
    device: SimDevice
    /** A private temp dir for captures and files (removed by stop()). */
    dir: string
    /** Stops the device, socat (by PID) and deletes the namespace (its processes die with it). */
    stop(): Promise<void>
}

export interface RigOptions {
    config?: Partial<StackConfig>
    /** File name in the rig's dir to capture into. */
    pcapName?: string
    apps?: boolean
}

/** A fresh namespace with a TAP at NS_IP/24 and a started device at DEVICE_IP. */
export async function startKernelRig(opts: RigOptions = {}): Promise<KernelRig> {
    const ns = await createNetns()
    const dir = mkdtempSync(join(tmpdir(), "enc-interop-"))
    let tap: TapPort = null
    let device: SimDevice = null
    const stop = async () => {
        if (device) await device.stop()
        const pid = tap?.pid
        if (tap) await tap.close()
        if (pid && pidAlive(pid)) process.kill(pid, "SIGKILL")
        await ns.delete()
        // INTEROP_KEEP=1 keeps captures and files for diagnosis (tshark -r DIR/NAME.pcap).
        if (process.env.INTEROP_KEEP === "1") console.log(`interop: kept ${dir}`)
        else rmSync(dir, { recursive: true, force: true })
        if ((await listNetns()).includes(ns.name)) throw new Error(`namespace ${ns.name} still exists`)
    }
    try {
        tap = await startTap({ netns: ns.name, nsAddress: `${NS_IP}/24` })
        const devOpts: SimDeviceOptions = {
            config: { ip: DEVICE_IP, gateway: NS_IP, ...(opts.config ?? {}) },
            apps: opts.apps,
        }
        if (opts.pcapName) devOpts.pcap = join(dir, opts.pcapName)
        device = createSimDevice(devOpts)
        device.attach(tap)
        await device.start()
    } catch (e) {
        await stop()
        throw e
    }
    return { ns, tap, device, dir, stop }
}

// ---------------------------------------------------------------------- kernel-side clients

export interface ClientResult {
    i: number
    ok: boolean
    error?: string
    sent: number
    received: number
    sentSha: string
    recvSha: string
    localPort: number
    ms: number
}

/**
 * K concurrent TCP clients in one python3 process (one thread each). Client i sends `bytes`
 * seeded-random bytes (seed + i) and reads everything the server sends until EOF. With
 * firstChunk > 0 it first sends that many bytes and waits for as many back (a
 * request/response opener), then streams the rest; it half-closes after its last byte.
 * Reading runs in parallel with writing, so an echo server's flow control cannot deadlock it.
 * The socket timeout bounds each wait for progress (a recv, a 16 KiB send), not the transfer.
 */
const CLIENTS_PY = String.raw`
import hashlib, json, random, socket, sys, threading, time
host, port, count, nbytes, first, seed, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
results = [None] * count
start = threading.Barrier(count)

def client(i):
    r = {"i": i, "ok": False, "sent": 0, "received": 0, "sentSha": "", "recvSha": "", "localPort": 0, "ms": 0}
    data = random.Random(seed + i).randbytes(nbytes)
    r["sentSha"] = hashlib.sha256(data).hexdigest()
    got = bytearray()
    t0 = time.time()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        try:
            start.wait(timeout)
        except threading.BrokenBarrierError:
            pass
        s.connect((host, port))
        r["localPort"] = s.getsockname()[1]
        off = 0
        if first > 0:
            s.sendall(data[:first])
            off = first
            while len(got) < first:
                b = s.recv(65536)
                if not b:
                    raise Exception("EOF after %d of the first %d bytes" % (len(got), first))
                got += b
        err = []
        def writer():
            try:
                # Chunks: sendall's timeout covers the whole call, so one 1 MiB sendall
                # would time out on a slow (lossy) link that still makes progress.
                o = off
                while o < nbytes:
                    s.sendall(data[o:o + 16384])
                    o += 16384
                s.shutdown(socket.SHUT_WR)
            except Exception as e:
                err.append("write: " + repr(e))
        w = threading.Thread(target=writer)
        w.start()
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        w.join(timeout)
        if err:
            raise Exception(err[0])
        r["sent"] = nbytes
        r["ok"] = True
    except Exception as e:
        r["error"] = repr(e)
    finally:
        s.close()
    r["received"] = len(got)
    r["recvSha"] = hashlib.sha256(bytes(got)).hexdigest()
    r["ms"] = int((time.time() - t0) * 1000)
    results[i] = r

threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(results))
`

export interface ClientsOptions {
    host: string
    port: number
    count: number
    bytes: number
    firstChunk?: number
    seed?: number
    /** Per socket operation, seconds. */
    socketTimeoutS?: number
    /** The whole run, ms (the process is killed after it). */
    timeoutMs?: number
}

export function python3(): string {
    const p = findExecutable("python3")
    if (p === null) throw new Error("python3 not found")
    return p
}

/** Runs the clients inside the namespace and returns one result per client. */
export async function runKernelClients(ns: Netns, o: ClientsOptions): Promise<ClientResult[]> {
    const args = [
        "-c", CLIENTS_PY, o.host, String(o.port), String(o.count), String(o.bytes), String(o.firstChunk ?? 0),
        String(o.seed ?? 1), String(o.socketTimeoutS ?? 30),
    ]
    const r = await ns.exec(python3(), args, o.timeoutMs ?? 60000)
    if (r.code !== 0) throw new Error(`python clients exited ${r.code}: ${r.stderr.trim()}`)
    return JSON.parse(r.stdout) as ClientResult[]
}

/** Runs a python3 snippet inside the namespace; returns its stdout (throws on a non-zero exit). */
export async function runPythonInNetns(ns: Netns, code: string, args: string[] = [], timeoutMs = 20000): Promise<string> {
    const r = await ns.exec(python3(), ["-c", code, ...args], timeoutMs)
    if (r.code !== 0) throw new Error(`python exited ${r.code}: ${r.stderr.trim()}`)
    return r.stdout
}

/** What python's random.Random(seed).randbytes(n) returns, to check echoes from Node's side. */
export async function pythonRandbytes(n: number, seed: number): Promise<Buffer> {
    return await new Promise((resolve, reject) => {
        execFile(python3(), ["-c", `import random,sys; sys.stdout.buffer.write(random.Random(${seed}).randbytes(${n}))`],
            { encoding: "buffer", maxBuffer: n + 1024, timeout: 10000 }, (err, stdout) => (err ? reject(err) : resolve(stdout as Buffer)))
    })
}

// ---------------------------------------------------------------------- a process in the namespace

export interface NsProcess {
    child: ChildProcess
    exited: Promise<number | null>
    stderr(): string
    /** SIGKILL by PID if still running. */
    kill(): void
}

/** Starts `ip netns exec ns sh -c cmd` in the background (for `nc -l ... < in > out`). */
export function spawnInNetns(ns: Netns, cmd: string): NsProcess {
    const child = spawn("ip", ["netns", "exec", ns.name, "sh", "-c", cmd], { stdio: ["ignore", "ignore", "pipe"] })
    let err = ""
    child.stderr.on("data", (d) => (err += d))
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    return {
        child,
        exited,
        stderr: () => err,
        kill: () => {
            if (child.exitCode === null && child.signalCode === null) {
                try {
                    process.kill(child.pid, "SIGKILL")
                } catch {
                    // gone
                }
            }
        },
    }
}

/** Waits until something in the namespace listens on TCP port (ss -ltn). */
export async function waitListening(ns: Netns, port: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
        const r = await ns.exec("ss", ["-Hltn", `sport = :${port}`], 5000)
        if (r.stdout.trim() !== "") return
        if (Date.now() > deadline) throw new Error(`nothing listening on port ${port} in ${ns.name}`)
        await sleep(20)
    }
}

// ---------------------------------------------------------------------- tshark

export interface ExpertSummary {
    text: string
    /** Packets tshark flagged as malformed (any protocol). */
    malformed: number
    /** Totals of the Errors and Warns groups. */
    errors: number
    warnings: number
}

/**
 * `tshark -r file -q -z expert`: the expert info, with the malformed packets counted.
 * dataPorts are decoded as plain data: tshark would otherwise guess a protocol for some
 * ports (5000 is GSM over IP to it) and call our random payload "malformed".
 */
export async function tsharkExpert(file: string, dataPorts: number[] = []): Promise<ExpertSummary> {
    const args = ["-r", file, "-q", "-z", "expert"]
    for (const p of dataPorts) args.push("-d", `tcp.port==${p},data`)
    const text = await new Promise<string>((resolve, reject) => {
        execFile("tshark", args, { encoding: "utf8", timeout: 60000, maxBuffer: 64 << 20 },
            (err, stdout, stderr) => (err ? reject(new Error(`tshark: ${stderr || err.message}`)) : resolve(stdout)))
    })
    let malformed = 0
    // Rows: "  Frequency  Group  Protocol  Summary"; malformed packets have group Malformed.
    for (const line of text.split("\n")) {
        const m = /^\s+(\d+)\s+(.*)$/.exec(line)
        if (m && /malformed/i.test(m[2])) malformed += Number(m[1])
    }
    return { text, malformed, errors: groupCount(text, "Errors"), warnings: groupCount(text, "Warns") }
}

/** tshark prints "Errors (N)" / "Warns (N)" group headers. */
function groupCount(text: string, group: string): number {
    const m = new RegExp(`^${group} \\((\\d+)\\)`, "m").exec(text)
    return m ? Number(m[1]) : 0
}
