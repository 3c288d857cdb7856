// Connection rate: completed handshakes per virtual second into one listener (backlog 8)
// on the server board, from a client board running `parallel` loops of connect → close;
// the server accepts, reads to EOF and closes. Optionally a SYN flood: SYN frames from
// random spoofed sources (198.18.0.0/15, random MACs, seeded PRNG) put straight into the
// server's jack at `floodPerSec` (outside the link's wire timing: they add to its load).

import { StackConfig } from "../src/config"
import { TcpSocket } from "../src/socket/socket"
import { TcpListener } from "../src/socket/listener"
import { SocketError, errorName } from "../src/tcp/errors"
import { createLab, LabDevice } from "../test/helpers/lab"
import { ethernet, ipv4Packet } from "../test/helpers/frames"
import { buildSegment } from "../test/helpers/tcp-fixtures"

export interface ConnOptions {
    virtualMs: number
    parallel: number
    floodPerSec: number
}

export interface ConnResult {
    handshakes: number
    perSec: number
    connectErrors: number
    /** connect() failures by errno name. */
    errorNames: Record<string, number>
    floodSyns: number
    synCookiesSent: number
    wallMs: number
}

const PORT = 6000

/** xorshift32: reproducible flood addresses. */
function prng(seed: number): () => number {
    let x = seed >>> 0 || 1
    return () => {
        x ^= x << 13
        x >>>= 0
        x ^= x >>> 17
        x ^= x << 5
        x >>>= 0
        return x
    }
}

function synFrame(server: LabDevice, rnd: () => number): Buffer {
    const src = (0xc6120000 | (rnd() & 0x1ffff)) >>> 0 // 198.18.0.0/15 (RFC 2544 benchmarking)
    const dstIp = ipToNum(server.config.ip)
    const seg = buildSegment({ flags: "S", seq: rnd(), srcPort: 1024 + (rnd() % 60000), dstPort: PORT, mss: 1460, win: 65535 }, src, dstIp)
    const ip = ipv4Packet({ src, dst: dstIp, protocol: 6, id: rnd() & 0xffff }, seg)
    const r = rnd()
    const smac = [0x02, r & 0xff, (r >>> 8) & 0xff, (r >>> 16) & 0xff, (r >>> 24) & 0xff, 0x01]
    return ethernet({ dst: server.config.mac, src: smac, type: 0x0800 }, ip)
}

function ipToNum(s: string): number {
    const p = s.split(".").map(Number)
    return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0
}

export async function connectionRate(o: ConnOptions): Promise<ConnResult> {
    const lab = createLab()
    const serverCfg: Partial<StackConfig> = { tcpConnections: 16, tcpBacklogMax: 8, tcpSynQueue: 8, tcpListeners: 1 }
    // The client is a load generator, not the thing measured: short TIME-WAIT so its slots
    // come back, and enough of them for ~1000 closes/s × 50 ms of TIME-WAIT, so it never
    // runs out (EMFILE) before the server does.
    const clientCfg: Partial<StackConfig> = { tcpConnections: 96, tcpTimeWaitMs: 50 }
    const server = lab.addDevice({ config: serverCfg })
    const client = lab.addDevice({ config: clientCfg })
    lab.link(server.jack, client.jack, { rateBps: 10e6 })
    await server.start()
    await client.start()
    const w0 = Date.now()
    const listener: TcpListener = server.stack.sockets.listen(PORT, 8)
    const t0 = lab.nowMs()
    const tEnd = t0 + o.virtualMs
    let handshakes = 0
    let connectErrors = 0
    let floodSyns = 0
    const errorNames: Record<string, number> = {}
    let stop = false
    const serve = async (s: TcpSocket) => {
        const buf = Buffer.alloc(64)
        try {
            while ((await s.read(buf, 0, buf.length)) > 0) {}
            await s.close()
        } catch {
            s.abort()
        }
    }
    const acceptor = (async () => {
        while (!stop) {
            try {
                const s = await listener.accept()
                if (lab.nowMs() <= tEnd) handshakes++
                void serve(s)
            } catch {
                return
            }
        }
    })()
    const loops: Promise<void>[] = []
    for (let i = 0; i < o.parallel; i++) {
        loops.push(
            (async () => {
                const buf = Buffer.alloc(64)
                while (lab.nowMs() < tEnd) {
                    try {
                        // A whole cycle per loop: our FIN, the server's EOF and FIN, then close
                        // (TIME-WAIT here), so a loop holds one slot plus its TIME-WAIT.
                        const s = await client.stack.sockets.connect(server.config.ip, PORT, 10000)
                        s.shutdown()
                        while ((await s.read(buf, 0, buf.length)) > 0) {}
                        await s.close()
                    } catch (e) {
                        connectErrors++
                        const name = e instanceof SocketError ? errorName(e.code) : String(e)
                        errorNames[name] = (errorNames[name] ?? 0) + 1
                        await lab.sleep(10)
                    }
                }
            })(),
        )
    }
    const flood = (async () => {
        if (o.floodPerSec <= 0) return
        const rnd = prng(12345)
        const gapMs = 1000 / o.floodPerSec
        while (lab.nowMs() < tEnd) {
            server.jack.send(synFrame(server, rnd))
            floodSyns++
            await lab.sleep(gapMs)
        }
    })()
    await Promise.all([...loops, flood])
    stop = true
    const synCookiesSent = server.stack.tcp.counters.synCookiesSent
    listener.close()
    await lab.stop()
    void acceptor
    return { handshakes, perSec: (handshakes * 1000) / o.virtualMs, connectErrors, errorNames, floodSyns, synCookiesSent, wallMs: Date.now() - w0 }
}
