// The compiled firmware in the DeviceScript VM (sim/vm-runner.ts): its SPI bus is bridged
// over the VM's one socket to the chip model here, whose jack is plugged into passt. Bulk
// echo must come back intact, with no InfiniteLoop (watchdog) or OutOfMemory panic, in a VM
// that runs with GC stress (--test mode collects at every allocation).
import { afterAll, beforeAll, expect, test } from "vitest"
import { connect } from "node:net"
import { PasstPort, startPasst } from "../sim/attach/passt"
import { pidAlive } from "../sim/attach/process"
import { UnpadForPasst } from "../sim/device"
import { VmDevice, createVmDevice } from "../sim/vm-runner"
import { describeNeeds } from "./helpers/skip"
import { freeTcpPort } from "./helpers/interop"

/** Sends data to 127.0.0.1:port and collects as many bytes back; rejects after ms. */
function echoThrough(port: number, data: Buffer, ms: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = []
        let got = 0
        const c = connect(port, "127.0.0.1", () => c.write(data))
        const timer = setTimeout(() => {
            c.destroy()
            reject(new Error(`echo: ${got} of ${data.length} bytes back after ${ms} ms`))
        }, ms)
        c.on("data", (d: Buffer) => {
            chunks.push(d)
            got += d.length
            if (got >= data.length) {
                clearTimeout(timer)
                c.end()
                resolve(Buffer.concat(chunks))
            }
        })
        c.on("error", (e) => {
            clearTimeout(timer)
            reject(e)
        })
    })
}

describeNeeds("firmware in the DeviceScript VM, bridged SPI, passt", { tools: ["passt"] }, () => {
    let vm: VmDevice
    let passt: PasstPort
    let port: number
    const lines: string[] = []

    beforeAll(async () => {
        port = await freeTcpPort()
        passt = await startPasst({ tcp: [{ hostPort: port, guestPort: 7 }] })
        vm = await createVmDevice({ onLine: (l) => lines.push(l) })
        vm.attach(new UnpadForPasst(passt))
        await vm.start(45000)
        // The firmware takes its address from passt's DHCP server.
        await vm.firmware.waitForLine(/address 10\.0\.2\.15:/, 20000)
    }, 60000)

    afterAll(async () => {
        if (vm) await vm.stop()
        if (passt) await passt.close()
        if (vm?.firmware) expect(pidAlive(vm.firmware.pid)).toBe(false)
    })

    test("the driver reached the chip model through the bridge", () => {
        // Reading the revision and bringing the chip up takes dozens of transfers.
        expect(vm.bridge.stats.connections).toBe(1)
        expect(vm.bridge.stats.transfers).toBeGreaterThan(20)
        expect(vm.bridge.stats.badOps).toBe(0)
        expect(lines.some((l) => /enc28j60 rev 6 up/.test(l))).toBe(true)
    })

    test("200 KB through echo, no panic", async () => {
        const n = 200 * 1024
        const data = Buffer.alloc(n)
        for (let i = 0; i < n; i++) data[i] = (i * 31 + (i >> 9)) & 0xff
        const before = { ...vm.bridge.stats }
        const t0 = Date.now()
        const back = await echoThrough(port, data, 50000)
        const secs = (Date.now() - t0) / 1000
        const transfers = vm.bridge.stats.transfers - before.transfers
        console.log(
            `vm echo: ${n} bytes in ${secs.toFixed(1)} s (${(n / 1024 / secs).toFixed(1)} KB/s), ` +
                `${transfers} SPI transfers (${Math.round(transfers / secs)}/s, ${((vm.bridge.stats.bytes - before.bytes) / transfers).toFixed(0)} bytes each)`,
        )
        expect(back.length).toBe(n)
        expect(back.equals(data)).toBe(true)
        expect(vm.firmware.fatal).toEqual([])
        expect(pidAlive(vm.firmware.pid)).toBe(true)
    }, 60000)
})
