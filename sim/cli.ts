// `npm run sim -- [flags]`: the stack on the simulated ENC28J60, plugged into a real peer.
//
//   (default)      passt (no root): host 127.0.0.1:<port> is forwarded to the device's port 7;
//                  the device is 10.0.2.15/24, gateway 10.0.2.2 (passt).
//   --netns NAME   (root) a TAP in the existing namespace NAME: namespace side 10.200.0.1/24,
//                  device 10.200.0.2/24; then e.g. `ip netns exec NAME ping 10.200.0.2`.
//   --devices N    (with --netns) N devices, 10.200.0.2 .. 10.200.0.(N+1), MACs
//                  02:00:00:00:00:02 .., and the TAP, all plugged into one Ethernet switch
//                  (sim/wire/switch.ts); fault flags apply to each device's link to it. At
//                  start-up each device 2..N runs a TCP client to device 1's echo and the
//                  result is printed. passt forwards host ports to one guest address and
//                  learns one guest MAC, so with passt there is one device.
//   --pcap FILE    capture every frame the device sends or receives (--devices: every
//                  frame entering the switch).
//   --port N       host port forwarded to the device's port 7 (passt only; default 7777).
//   --discard-port N  also forward host port N to the device's discard server (port 9).
//   --status-port N   also forward host port N to the device's status page (port 80):
//                  `curl http://127.0.0.1:N/` shows sockets, ARP, counters, memory.
//   --trace        one line per frame at the device's jack, on stderr.
//   --vm           the compiled firmware (src/main.ts) runs in the DeviceScript VM instead of
//                  Node; its SPI bus is carried to the chip model here (vm-runner.ts). It takes
//                  its address by DHCP (passt), else its static fallback 10.0.2.15/24: with
//                  --netns the namespace side is then 10.0.2.2/24.
//
// The device runs the echo (7) and discard (9) servers on its TCP stack. `kill -USR1 <pid>`
// prints its netstat table (sockets, listeners and their queues).
//
// Prints one line containing "ready" when the device is up. SIGINT/SIGTERM stop everything
// it started and exit 0; a missing tool or a failed start exits non-zero.

import { parseArgs } from "node:util"
import { StackConfig, makeConfig } from "../src/config"
import { MissingToolError } from "./attach/process"
import { startPasst } from "./attach/passt"
import { startTap } from "./attach/tap"
import { createSimDevice, SimDevice, UnpadForPasst } from "./device"
import { echoCheck } from "./echo-check"
import { FAULT_FLAG_OPTIONS, FAULT_FLAGS_USAGE, describeFaults, faultOptionsFromFlags, withFaults } from "./fault-flags"
import { PcapWriter, wallClockUs } from "./pcap"
import { summarizeFrame } from "./trace"
import { ChipFcsPort } from "./wire/faults"
import { FramePort } from "./wire/frame-port"
import { EthernetSwitch } from "./wire/switch"
import { VmDevice, createVmDevice } from "./vm-runner"

const USAGE = `usage: npm run sim -- [--port N] [--discard-port N] [--status-port N] [--netns NAME [--devices N]] [--pcap FILE] [--trace] [--vm] [fault flags]
  --port N       host port on 127.0.0.1 forwarded to the device's echo port 7 (passt; default 7777)
  --discard-port N  host port on 127.0.0.1 forwarded to the device's discard port 9 (passt)
  --status-port N   host port on 127.0.0.1 forwarded to the device's status page, port 80 (passt)
  --netns NAME   attach by TAP to the existing network namespace NAME (root); device 10.200.0.2/24
  --devices N    with --netns: N devices (10.200.0.2, .3, ...) and the TAP on one switch (at most 16)
  --pcap FILE    write every frame the device sends or receives to FILE (libpcap)
  --trace        print a one-line summary of every frame at the device's jack (stderr)
  --vm           run the compiled firmware in the DeviceScript VM, its SPI bridged to the chip model
${FAULT_FLAGS_USAGE}`

/** Namespace side and device side of the TAP link; device i (1-based) is 10.200.0.(1+i). */
const NETNS_PEER = "10.200.0.1"
const NETNS_DEVICE = "10.200.0.2"
const NETNS_PREFIX = "10.200.0."
const MAX_DEVICES = 16

interface CliOptions {
    port: number
    discardPort: number | null
    statusPort: number | null
    netns: string | null
    devices: number
    pcap: string | null
    trace: boolean
    vm: boolean
    faults: ReturnType<typeof faultOptionsFromFlags>
}

function parseCli(argv: string[]): CliOptions {
    const { values } = parseArgs({
        args: argv,
        options: {
            port: { type: "string" },
            "discard-port": { type: "string" },
            "status-port": { type: "string" },
            netns: { type: "string" },
            devices: { type: "string" },
            pcap: { type: "string" },
            trace: { type: "boolean" },
            vm: { type: "boolean" },
            help: { type: "boolean", short: "h" },
            ...FAULT_FLAG_OPTIONS,
        },
        strict: true,
    })
    if (values.help) {
        console.log(USAGE)
        process.exit(0)
    }
    const port = values.port === undefined ? 7777 : Number(values.port)
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port: not a port number: ${values.port}`)
    const dp = values["discard-port"]
    const discardPort = dp === undefined ? null : Number(dp)
    if (discardPort !== null && (!Number.isInteger(discardPort) || discardPort < 1 || discardPort > 65535 || discardPort === port)) {
        throw new Error(`--discard-port: not a port number (or the same as --port): ${dp}`)
    }
    const sp = values["status-port"]
    const statusPort = sp === undefined ? null : Number(sp)
    if (statusPort !== null && (!Number.isInteger(statusPort) || statusPort < 1 || statusPort > 65535 || statusPort === port || statusPort === discardPort)) {
        throw new Error(`--status-port: not a port number (or the same as another forward): ${sp}`)
    }
    const devices = values.devices === undefined ? 1 : Number(values.devices)
    if (!Number.isInteger(devices) || devices < 1 || devices > MAX_DEVICES) throw new Error(`--devices: not a number of devices (1..${MAX_DEVICES}): ${values.devices}`)
    if (devices > 1 && values.netns === undefined) {
        throw new Error("--devices: needs --netns (passt forwards host ports to one guest address and learns one guest MAC, so it serves one device)")
    }
    if (devices > 1 && values.vm) throw new Error("--devices: not with --vm (the VM runs one firmware)")
    return { port, discardPort, statusPort, netns: values.netns ?? null, devices, pcap: values.pcap ?? null, trace: values.trace === true, vm: values.vm === true, faults: faultOptionsFromFlags(values) }
}

function macString(mac: number[]): string {
    return mac.map((b) => b.toString(16).padStart(2, "0")).join(":")
}

async function main(): Promise<number> {
    let opts: CliOptions
    try {
        opts = parseCli(process.argv.slice(2))
    } catch (e) {
        console.error(`${(e as Error).message}\n${USAGE}`)
        return 2
    }

    if (opts.netns && process.getuid?.() !== 0) {
        console.error("sim: --netns needs root (it creates a TAP device and moves it into the namespace)")
        return 1
    }
    let config: StackConfig = makeConfig(null)
    // The firmware in the VM has its own configuration: the namespace takes its static gateway.
    if (opts.netns && !opts.vm) config = makeConfig({ ip: NETNS_DEVICE, gateway: NETNS_PEER })

    // The run ends with a signal (exit 0) or the peer dying (exit 1). Handlers go in first,
    // so a Ctrl-C during start-up still stops what was already started.
    let finish: (code: number) => void
    let finished = false
    const done = new Promise<number>((resolve) => (finish = resolve))
    const end = (code: number, why: string) => {
        if (finished) return
        finished = true
        console.log(`sim: ${why}, stopping`)
        finish(code)
    }
    process.on("SIGINT", () => end(0, "SIGINT"))
    process.on("SIGTERM", () => end(0, "SIGTERM"))

    let peer: FramePort = null
    const devices: SimDevice[] = []
    let vm: VmDevice = null
    let segmentPcap: PcapWriter = null
    let howTo: string
    const stopAll = async () => {
        for (const d of devices) await d.stop()
        if (vm) await vm.stop()
        if (peer) await peer.close()
        if (segmentPcap) segmentPcap.close()
    }

    try {
        if (opts.netns) {
            const tap = await startTap({ netns: opts.netns, nsAddress: `${config.gateway}/24` })
            peer = tap
            howTo = `via TAP ${tap.tapName} in netns ${opts.netns} (socat pid ${tap.pid}); try: ip netns exec ${opts.netns} ping ${config.ip}`
        } else {
            const forwards = [{ hostPort: opts.port, guestPort: 7 }]
            if (opts.discardPort !== null) forwards.push({ hostPort: opts.discardPort, guestPort: 9 })
            if (opts.statusPort !== null) forwards.push({ hostPort: opts.statusPort, guestPort: 80 })
            const passt = await startPasst({
                tcp: forwards,
                guestIp: config.ip,
                gateway: config.gateway,
            })
            peer = new UnpadForPasst(passt)
            passt.exited.then((code) => {
                if (finished) return
                console.error(`sim: passt exited unexpectedly (code ${code}): ${passt.log().trim().split("\n").slice(-2).join(" | ")}`)
                end(1, "passt gone")
            })
            howTo = `via passt (pid ${passt.pid}); try: printf 'hello\\n' | nc -N 127.0.0.1 ${opts.port}`
            if (opts.discardPort !== null) howTo += ` (discard: 127.0.0.1:${opts.discardPort})`
            if (opts.statusPort !== null) howTo += ` (status: curl http://127.0.0.1:${opts.statusPort}/)`
        }
        if (opts.vm) {
            vm = await createVmDevice({ pcap: opts.pcap ?? undefined, onLine: (line) => console.log(`vm: ${line}`) })
            vm.attach(withFaults(peer, opts.faults))
            if (opts.trace) vm.jack.observe((frame, outbound) => console.error(`${outbound ? "out" : "in "} ${summarizeFrame(frame)}`))
            howTo = await startVmDevice(vm, howTo, end)
        } else if (opts.devices === 1) {
            const device = createSimDevice({ config, pcap: opts.pcap ?? undefined })
            devices.push(device)
            device.attach(withFaults(peer, opts.faults))
            if (opts.trace) device.jack.observe((frame, outbound) => console.error(`${outbound ? "out" : "in "} ${summarizeFrame(frame)}`))
            await device.start()
        } else {
            segmentPcap = opts.pcap ? new PcapWriter(opts.pcap, wallClockUs) : null
            await startSegment(peer, config, opts, devices, segmentPcap)
            howTo = howTo.replace(/; try: .*$/, `; try: ip netns exec ${opts.netns} ping ${devices[1].config.ip}`)
        }
        process.on("SIGUSR1", () => {
            if (vm) return console.log(`sim: the stack runs in the VM; SPI bridge: ${JSON.stringify(vm.bridge.stats)}`)
            for (const dev of devices) {
                if (devices.length > 1) console.log(`device ${dev.config.ip}:`)
                console.log(dev.sockets.netstatText())
                const e = dev.echo
                const d = dev.discard
                if (e) console.log(`echo: ${e.accepted} accepted, ${e.finished} finished, ${e.failed} failed, ${e.bytesEchoed} bytes echoed`)
                if (d) console.log(`discard: ${d.accepted} accepted, ${d.finished} finished, ${d.failed} failed, ${d.bytesDiscarded} bytes discarded`)
            }
        })
    } catch (e) {
        finished = true
        await stopAll()
        console.error(e instanceof MissingToolError ? e.message : `sim: ${(e as Error).message}`)
        return 1
    }

    if (!finished) {
        const pcapNote = (opts.pcap ? `; capturing to ${opts.pcap}` : "") + (opts.faults ? `; ${describeFaults(opts.faults)}` : "")
        const addr = (d: SimDevice) => `${d.config.ip} (${macString(d.config.mac)})`
        if (vm) console.log(`ready: device (firmware in the DeviceScript VM, pid ${vm.firmware.pid}) ${howTo}${pcapNote}`)
        else if (devices.length === 1) console.log(`ready: device ${addr(devices[0])} ${howTo}${pcapNote}`)
        else console.log(`ready: ${devices.length} devices ${devices.map((d, i) => `${i + 1}: ${addr(d)}`).join(", ")} on one switch ${howTo}${pcapNote}`)
        const each = devices.length > 1 ? "each device serves" : "the device serves"
        console.log(`sim: ${each} echo on port 7, discard on port 9 and a status page on port 80; kill -USR1 ${process.pid} prints its netstat`)
        if (devices.length > 1) void checkSegment(devices)
    }
    const code = await done
    try {
        await stopAll()
    } catch (e) {
        console.error(`sim: stopping failed: ${(e as Error).message}`)
        return 1
    }
    return code
}

/**
 * --devices N: N devices and the peer (the TAP) on one switch, device i at 10.200.0.(1+i)
 * with MAC 02:00:00:00:00:(1+i). Each device's link to the switch gets the fault flags with
 * its own random streams; --trace lines name the device; --pcap sees the whole segment.
 */
async function startSegment(peer: FramePort, base: StackConfig, opts: CliOptions, devices: SimDevice[], pcap: PcapWriter): Promise<void> {
    const sw = new EthernetSwitch()
    sw.plug(peer)
    if (pcap) sw.observe((frame) => pcap.write(frame))
    for (let i = 1; i <= opts.devices; i++) {
        const mac = [...base.mac]
        mac[5] = 1 + i
        const d = createSimDevice({ config: { ...base, ip: `${NETNS_PREFIX}${1 + i}`, mac } })
        devices.push(d)
        // The chip's own CRC check drops frames corrupted on the wire (--corrupt-wire).
        sw.plug(withFaults(new ChipFcsPort(d.jack, d.chip), opts.faults, i - 1))
        if (opts.trace) d.jack.observe((frame, outbound) => console.error(`dev${i} ${outbound ? "out" : "in "} ${summarizeFrame(frame)}`))
    }
    for (const d of devices) await d.start()
}

/** Every device 2..N runs a TCP client to device 1's echo through the switch; one line each. */
async function checkSegment(devices: SimDevice[]): Promise<void> {
    for (let i = 1; i < devices.length; i++) {
        const r = await echoCheck(devices[i], devices[0])
        const what = `device ${i + 1} (${devices[i].config.ip}) -> device 1 (${devices[0].config.ip}) echo port 7`
        if (r.ok) console.log(`sim: segment check: ${what}: ${r.received} bytes echoed byte-exact in ${r.ms} ms`)
        else console.log(`sim: segment check: ${what}: FAILED after ${r.received} bytes: ${r.error}`)
    }
}

/**
 * Starts the firmware in the VM and waits for its address (DHCP, or the static fallback after
 * the DISCOVERs run out: up to a minute or so). The run ends if the VM does.
 */
async function startVmDevice(vm: VmDevice, howTo: string, end: (code: number, why: string) => void): Promise<string> {
    await vm.start()
    vm.firmware.exited.then((code) => end(1, `the VM exited (code ${code})`))
    const line = await vm.firmware.waitForLine(/address \d+\.\d+\.\d+\.\d+:/, 120000)
    return `${/address (\S+):/.exec(line)[1]} ${howTo}`
}

main().then((code) => process.exit(code))
