// A SYN flood from spoofed sources (hping3 --rand-source, inside a namespace the test creates)
// against the device's echo port, faster than the SYN queue can drain (half-open requests
// to spoofed hosts are never completed and expire only after the SYN-ACK retries), while a
// real kernel client connects and exchanges data. The SYN-ACKs to the spoofed addresses go
// to the namespace's kernel, which does not forward them (ip_forward is off in a new
// namespace): nothing leaves the namespace.
import { afterAll, beforeAll, expect, test } from "vitest"
import { describeNeeds } from "./helpers/skip"
import { DEVICE_IP, KernelRig, runKernelClients, sleep, spawnInNetns, startKernelRig } from "./helpers/interop"
import { TCP_ROW_LISTENER, TCP_ROW_REQUEST } from "../src/tcp/info"

const NEEDS = { root: true, tun: true, tools: ["socat", "ip", "python3", "hping3"] }
/** hping3 stops after this many SYNs (about 20 s here); the test stops it once the client is done. */
const SYNS = 30000

describeNeeds("SYN flood from spoofed sources while a real client connects", NEEDS, () => {
    let rig: KernelRig = null
    beforeAll(async () => {
        rig = await startKernelRig({ pcapName: "flood.pcap", config: { tcpSynQueue: 4, tcpBacklogMax: 4, tcpSynCookies: true } })
        const fwd = await rig.ns.exec("sysctl", ["-n", "net.ipv4.ip_forward"])
        expect(fwd.stdout.trim()).toBe("0")
    })
    afterAll(async () => {
        if (rig) await rig.stop()
    })

    test("the real client is served through SYN cookies; the SYN queue stays bounded", async () => {
        const dev = rig.device
        const k = dev.tcp.counters
        const synQueueSize = dev.tcp.requests.entries.length
        // netstat every 2 ms: the listener's SYN-queue count and the half-open rows.
        let maxListenerSyn = 0
        let maxRequests = 0
        let listenerBacklog = -1
        const sampler = setInterval(() => {
            const rows = dev.sockets.netstat()
            const n = dev.sockets.netstatCount()
            let reqs = 0
            for (let i = 0; i < n; i++) {
                const r = rows[i]
                if (r.kind === TCP_ROW_REQUEST) reqs++
                if (r.kind === TCP_ROW_LISTENER && r.localPort === 7) {
                    listenerBacklog = r.backlog
                    if (r.synQueue > maxListenerSyn) maxListenerSyn = r.synQueue
                }
            }
            if (reqs > maxRequests) maxRequests = reqs
        }, 2)
        // 500 µs apart (about 1500 a second here), each from a random address and port: far
        // faster than the SYN queue drains (a spoofed request leaves it only when its SYN-ACK
        // retries run out, after about 30 s), and near what the simulated device can take.
        // Faster floods work too, but the device then drops a growing share of all SYNs, the
        // real client's included, and its connect() waits on the kernel's SYN retries (1 s, 3 s, 7 s ...).
        const flood = spawnInNetns(rig.ns, `exec hping3 -q -S -p 7 --rand-source -i u500 -c ${SYNS} ${DEVICE_IP}`)
        try {
            // Let the flood fill the SYN queue first.
            const t0 = Date.now()
            while (k.synCookiesSent < 100 && Date.now() - t0 < 10000) await sleep(10)
            expect(k.synCookiesSent).toBeGreaterThanOrEqual(100)
            const floodBefore = k.synReceived
            const [r] = await runKernelClients(rig.ns, { host: DEVICE_IP, port: 7, count: 1, bytes: 64 * 1024, timeoutMs: 60000 })
            const floodDuring = k.synReceived - floodBefore
            const floodExit = await Promise.race([flood.exited, sleep(1).then(() => "running")])
            console.log(`real client: ${r.ms} ms, ${floodDuring} SYNs arrived meanwhile (flood ${floodExit}); ` +
                `max syn-q ${maxListenerSyn}/${listenerBacklog}, max half-open rows ${maxRequests}/${synQueueSize}; ` +
                `frames dropped by the chip ${dev.jack.dropped}; counters ${JSON.stringify(k)}`)
            expect(r.error).toBeUndefined()
            expect(r.ok).toBe(true)
            expect(r.received).toBe(64 * 1024)
            expect(r.recvSha).toBe(r.sentSha)
            // The flood went on while the client connected and exchanged its data.
            expect(floodDuring).toBeGreaterThan(0)
            expect(floodExit).toBe("running")
        } finally {
            clearInterval(sampler)
            flood.kill()
            await flood.exited
        }
        // Cookies answered the overflow, and the real client's handshake completed by one
        // (the queue was full of spoofed requests that expire only after the SYN-ACK retries).
        expect(k.synQueueFull).toBeGreaterThan(100)
        expect(k.synCookiesAccepted).toBeGreaterThanOrEqual(1)
        expect(k.connectionsAccepted).toBe(1)
        // Bounded: never more half-open requests than the listener's backlog and the table.
        expect(listenerBacklog).toBe(4)
        expect(maxListenerSyn).toBe(4)
        expect(maxRequests).toBeLessThanOrEqual(synQueueSize)
        expect(dev.tcp.requests.entries.length).toBe(synQueueSize)
        // The echo server took no harm.
        expect(dev.echo.failed).toBe(0)
        expect(dev.echo.finished).toBe(1)
    }, 90000)
})
