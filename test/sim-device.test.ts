// The composed simulated device (chip model + SPI bus + driver + interface + pump) on a
// VirtualClock, with the test as the peer on an in-memory cable.
import { afterEach, describe, expect, test } from "vitest"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { VirtualClock } from "../sim/clock"
import { SimDevice, createSimDevice } from "../sim/device"
import { parsePcap } from "../sim/pcap"
import { createPortPair } from "../sim/wire/memory-port"
import { FramePort } from "../sim/wire/frame-port"
import { internetChecksum } from "../src/util/checksum"

const PEER_MAC = Buffer.from("0200000000aa", "hex")
const PEER_IP = [10, 0, 2, 2]
const DEV_MAC = Buffer.from("020000000002", "hex")
const DEV_IP = [10, 0, 2, 15]

function arpRequest(): Buffer {
    const f = Buffer.alloc(42)
    f.fill(0xff, 0, 6)
    PEER_MAC.copy(f, 6)
    f.writeUInt16BE(0x0806, 12)
    Buffer.from("0001080006040001", "hex").copy(f, 14)
    PEER_MAC.copy(f, 22)
    Buffer.from(PEER_IP).copy(f, 28)
    Buffer.from(DEV_IP).copy(f, 38)
    return f
}

function echoRequest(seq: number, payload: Buffer): Buffer {
    const f = Buffer.alloc(14 + 20 + 8 + payload.length)
    DEV_MAC.copy(f, 0)
    PEER_MAC.copy(f, 6)
    f.writeUInt16BE(0x0800, 12)
    f[14] = 0x45
    f.writeUInt16BE(20 + 8 + payload.length, 16)
    f[22] = 64
    f[23] = 1
    Buffer.from(PEER_IP).copy(f, 26)
    Buffer.from(DEV_IP).copy(f, 30)
    f.writeUInt16BE(internetChecksum(f, 14, 20), 24)
    f[34] = 8
    f.writeUInt16BE(0x1234, 38)
    f.writeUInt16BE(seq, 40)
    payload.copy(f, 42)
    f.writeUInt16BE(internetChecksum(f, 34, 8 + payload.length), 36)
    return f
}

function isAnnouncement(f: Buffer): boolean {
    return f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 1 && f.subarray(28, 32).equals(f.subarray(38, 42))
}

describe("simulated device on a virtual clock", () => {
    let device: SimDevice = null
    let dir: string = null
    afterEach(async () => {
        if (device) await device.stop()
        device = null
        if (dir) rmSync(dir, { recursive: true, force: true })
        dir = null
    })

    async function startWithPeer(pcap?: string): Promise<{ peer: FramePort; got: Buffer[]; clock: VirtualClock }> {
        const clock = new VirtualClock()
        device = createSimDevice({ clock, pcap })
        const [peer, cableEnd] = createPortPair()
        device.attach(cableEnd)
        const got: Buffer[] = []
        peer.onFrame((f) => got.push(f))
        await device.start()
        return { peer, got, clock }
    }

    async function waitFor(got: Buffer[], pred: (f: Buffer) => boolean): Promise<Buffer> {
        for (let i = 0; i < 2000; i++) {
            const f = got.find(pred)
            if (f) return f
            await new Promise((r) => setImmediate(r))
        }
        throw new Error(`no matching frame among ${got.length}`)
    }

    test("answers ARP with its MAC, and echo requests with the same payload", async () => {
        const { peer, got } = await startWithPeer()
        // At start-up the device announces its address (RFC 5227): a broadcast ARP request
        // with our address as sender and target.
        const announcement = await waitFor(got, isAnnouncement)
        expect(announcement.subarray(0, 6).equals(Buffer.alloc(6, 0xff))).toBe(true)
        peer.send(arpRequest())
        const reply = await waitFor(got, (f) => f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 2)
        expect(reply.subarray(0, 6).equals(PEER_MAC)).toBe(true)
        expect(reply.subarray(22, 28).equals(DEV_MAC)).toBe(true)
        expect([...reply.subarray(28, 32)]).toEqual(DEV_IP)

        const payload = Buffer.from("simulated device payload 0123456789")
        peer.send(echoRequest(7, payload))
        const echo = await waitFor(got, (f) => f.readUInt16BE(12) === 0x0800 && f[34] === 0)
        expect(echo.readUInt16BE(40)).toBe(7)
        expect(echo.subarray(42, 42 + payload.length).equals(payload)).toBe(true)
        expect(internetChecksum(echo, 14, 20)).toBe(0)
    })

    test("the pcap holds both directions in order, stamped with virtual time", async () => {
        dir = mkdtempSync(join(tmpdir(), "enc-simdev-"))
        const path = join(dir, "d.pcap")
        const { peer, got, clock } = await startWithPeer(path)
        await waitFor(got, isAnnouncement)
        peer.send(arpRequest())
        await waitFor(got, (f) => f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 2)
        peer.send(echoRequest(1, Buffer.alloc(32, 0x5a)))
        await waitFor(got, (f) => f.readUInt16BE(12) === 0x0800)
        device.pcap.close()
        const all = parsePcap(readFileSync(path)).frames
        expect(isAnnouncement(all[0].frame)).toBe(true)
        const frames = all.slice(1)
        const kinds = frames.map((f) => (f.frame.subarray(6, 12).equals(DEV_MAC) ? "out" : "in") + ":" + f.frame.readUInt16BE(12).toString(16))
        expect(kinds).toEqual(["in:806", "out:806", "in:800", "out:800"])
        // Short frames reach the capture as they were on the cable.
        expect(frames[0].frame.equals(arpRequest())).toBe(true)
        for (let i = 1; i < frames.length; i++) expect(frames[i].tsUs).toBeGreaterThanOrEqual(frames[i - 1].tsUs)
        expect(frames[frames.length - 1].tsUs).toBeLessThanOrEqual(clock.nowUs())
    })
})
