// End to end through passt (when installed): a host TCP client on loopback reaches the echo
// and discard apps of the simulated device (chip model + driver + NetStack), real time.
import { afterEach, expect, test } from "vitest"
import { connect, Socket } from "node:net"
import { startPasst, PasstPort } from "../sim/attach/passt"
import { createSimDevice, SimDevice, UnpadForPasst } from "../sim/device"
import { describeNeeds } from "./helpers/skip"
import { freeTcpPort } from "./helpers/interop"

/** Connects, sends `data`, half-closes, and collects everything until the device closes. */
function exchange(port: number, data: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = []
        const s: Socket = connect(port, "127.0.0.1", () => s.end(data))
        s.on("data", (d) => chunks.push(d))
        s.on("end", () => resolve(Buffer.concat(chunks)))
        s.on("error", reject)
    })
}

describeNeeds("echo and discard through passt", { tools: ["passt"] }, () => {
    let passt: PasstPort = null
    let device: SimDevice = null
    afterEach(async () => {
        if (device) await device.stop()
        if (passt) await passt.close()
        device = null
        passt = null
    })

    test("a host client's bytes come back from port 7; port 9 takes bytes and closes", async () => {
        const echoPort = await freeTcpPort()
        const discardPort = await freeTcpPort()
        passt = await startPasst({ tcp: [{ hostPort: echoPort, guestPort: 7 }, { hostPort: discardPort, guestPort: 9 }] })
        device = createSimDevice({})
        const unpad = new UnpadForPasst(passt)
        device.attach(unpad)
        await device.start()

        const got = await exchange(echoPort, Buffer.from("hello\n"))
        expect(got.toString()).toBe("hello\n")
        expect(device.echo.bytesEchoed).toBe(6)
        expect(unpad.trimmed).toBeGreaterThan(0) // bare SYN-ACK/ACKs are padded to 60 bytes

        expect((await exchange(discardPort, Buffer.alloc(600, 0x61))).length).toBe(0)
        expect(device.discard.bytesDiscarded).toBe(600)
        expect(device.discard.finished).toBe(1)
        expect(device.sockets.netstatText()).toMatch(/10\.0\.2\.15:7 .* LISTEN/)
    }, 30000)
})
