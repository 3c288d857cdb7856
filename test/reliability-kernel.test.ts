// Reliability against the Linux kernel's TCP (root): the simulated device on a TAP in a
// namespace, with a FaultyPort (both ways, real time) between its jack and the TAP. A
// kernel client (python3) sends 256 KiB to the device's echo server and must get it back
// byte-exact. Frames corrupted "on the wire" are dropped before the TAP / at the jack (a
// TAP has no FCS to fail). SOAK=1 moves 1 MiB and adds seeds.
import { afterEach, expect, test } from "vitest"
import { pidAlive } from "../sim/attach/process"
import { TapPort, startTap } from "../sim/attach/tap"
import { SimDevice, createSimDevice } from "../sim/device"
import { FaultOptions, FaultyPort, realWireTimer } from "../sim/wire/faults"
import { describeNeeds } from "./helpers/skip"
import { DEVICE_IP, NS_IP, runKernelClients } from "./helpers/interop"
import { Netns, createNetns } from "./helpers/netns"

const NEEDS = { root: true, tun: true, tools: ["socat", "ip", "python3"] }
const SOAK = process.env.SOAK === "1"
const BYTES = SOAK ? 1 << 20 : 256 * 1024
const SEEDS = SOAK ? [1, 2, 3] : [1]

const CELLS: { name: string; faults: FaultOptions }[] = [
    { name: "loss 5%", faults: { loss: 0.05 } },
    { name: "all at once", faults: { loss: 0.05, dup: 0.05, reorder: 0.05, corruptPayload: 0.01, corruptWire: 0.01, delayMs: 1, jitterMs: 1 } },
]

let ns: Netns = null
let tap: TapPort = null
let device: SimDevice = null
afterEach(async () => {
    if (device) await device.stop()
    const pid = tap?.pid
    if (tap) await tap.close()
    if (pid && pidAlive(pid)) process.kill(pid, "SIGKILL")
    if (ns) await ns.delete()
    device = null
    tap = null
    ns = null
})

describeNeeds("kernel client → device echo through a faulty link (real time)", NEEDS, () => {
    for (const cell of CELLS) {
        for (const seed of SEEDS) {
            test(`${cell.name}, seed ${seed}: ${BYTES / 1024} KiB echoed byte-exact`, async () => {
                ns = await createNetns()
                tap = await startTap({ netns: ns.name, nsAddress: `${NS_IP}/24` })
                device = createSimDevice({ config: { ip: DEVICE_IP, gateway: NS_IP } })
                const faulty = new FaultyPort(tap, { ...cell.faults, seed, bothWays: true, timer: realWireTimer() })
                device.attach(faulty)
                await device.start()
                const [r] = await runKernelClients(ns, { host: DEVICE_IP, port: 7, count: 1, bytes: BYTES, seed, socketTimeoutS: 60, timeoutMs: 120000 })
                const into = faulty.toInner.stats
                const out = faulty.fromInner.stats
                console.log(`${cell.name} seed ${seed}: ${r.ms} ms; to kernel ${JSON.stringify(into)}; to device ${JSON.stringify(out)}; device tcp retransmits ${device.tcp.counters.retransmits}`)
                expect(r.error).toBeUndefined()
                expect(r.ok).toBe(true)
                expect(r.received).toBe(BYTES)
                expect(r.recvSha).toBe(r.sentSha)
                expect(into.lost + out.lost).toBeGreaterThan(0)
                expect(device.chip.violations).toEqual([])
            }, 150000)
        }
    }
})
