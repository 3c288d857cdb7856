// A chip reset in the middle of a transfer, end to end: two simulated boards move 256 KiB
// each way over one TCP connection while one board's ENC28J60 is power-glitched (registers
// back at their power-on values, buffer memory lost). The driver notices and brings the
// chip up again; TCP retransmits what was lost and ARP entries still hold, so the
// connection stays ESTABLISHED and both directions arrive byte-exact.
import { afterEach, describe, expect, test } from "vitest"
import { FaultOptions } from "../sim/wire/faults"
import { TcpSocket } from "../src/socket/socket"
import { Lab, LabDevice, SideResult, createLab, exchange, labPattern, sha256 } from "./helpers/lab"

const KiB = 1024
const BYTES = 256 * KiB
/** A realistic wire, as in the reliability matrix: 10 Mbit/s, 0.5 ms + up to 0.5 ms one way. */
const WIRE: FaultOptions = { rateBps: 10e6, delayMs: 0.5, jitterMs: 0.5, seed: 3 }
/** Virtual-time bound for the whole run: a hang cannot hide in it. */
const BOUND_MS = 10 * 60000

let lab: Lab = null
afterEach(async () => {
    if (lab) await lab.stop()
    lab = null
})

describe("a chip reset in the middle of a TCP transfer", () => {
    test.each([0, 1])(`device %i power-glitched halfway through ${BYTES / KiB} KiB each way: byte-exact, still ESTABLISHED`, async (victimIndex) => {
        lab = createLab()
        const a = lab.addDevice({ config: { tcpSendBuffer: 4096, tcpRecvBuffer: 4096 } })
        const b = lab.addDevice({ config: { tcpSendBuffer: 4096, tcpRecvBuffer: 4096 } })
        lab.link(a.jack, b.jack, WIRE)
        await a.start()
        await b.start()
        const victim: LabDevice = victimIndex === 0 ? a : b

        const listener = a.stack.sockets.listen(5000, 2)
        const [server, client] = await Promise.all([listener.accept(), b.stack.sockets.connect(a.config.ip, 5000, 30000)])
        const toClient = labPattern(BYTES, 11)
        const toServer = labPattern(BYTES, 12)
        let finished = false
        const run = Promise.all([exchange(server, toClient), exchange(client, toServer)]).finally(() => (finished = true))

        // Halfway (by segments the victim has taken in), the victim's chip loses power for a moment.
        let glitchedAt = -1
        let recoveredAt = -1
        const states: string[] = []
        const glitcher = (async () => {
            const half = 180 // about half of the segments one side receives for 256 KiB each way
            while (!finished && victim.stack.tcp.counters.rxSegments < half) await lab.sleep(1)
            if (finished) return
            victim.chip.powerCycle()
            glitchedAt = lab.nowMs()
            while (!finished && victim.driver.counters.chipResets === 0) await lab.sleep(1)
            recoveredAt = lab.nowMs()
            states.push(server.state(), client.state())
        })()
        const watchdog = (async () => {
            while (!finished && lab.nowMs() < BOUND_MS) await lab.sleep(1000)
        })()
        await Promise.race([run, watchdog])
        expect(finished, `not done after ${BOUND_MS} virtual ms\n${a.stack.sockets.netstatText()}\n${b.stack.sockets.netstatText()}`).toBe(true)
        await glitcher
        const [atServer, atClient] = (await run) as SideResult[]
        await closeBoth(server, client)
        listener.close()

        const c = victim.driver.counters
        console.log(
            `victim ${victimIndex}: glitch at ${glitchedAt.toFixed(0)} ms, re-initialised ${(recoveredAt - glitchedAt).toFixed(1)} ms later; ` +
                `done at ${lab.nowMs().toFixed(0)} ms; retransmits ${a.stack.tcp.counters.retransmits}+${b.stack.tcp.counters.retransmits}, ` +
                `timeouts ${a.stack.tcp.counters.timeouts}+${b.stack.tcp.counters.timeouts}; driver ${JSON.stringify(c)}; ` +
                `victim chip violations ${JSON.stringify(victim.chip.violations)}`,
        )
        expect(glitchedAt).toBeGreaterThan(0)
        expect(c.chipResets).toBe(1)
        // Noticed within the driver's one-second check plus the pump's idle poll (1 s in the
        // lab: a deaf board is woken only by arrivals and that poll).
        expect(recoveredAt - glitchedAt).toBeLessThan(2100)
        expect(states).toEqual(["ESTABLISHED", "ESTABLISHED"])
        expect(atServer.error).toBe("")
        expect(atClient.error).toBe("")
        expect(atServer.received.length).toBe(BYTES)
        expect(atClient.received.length).toBe(BYTES)
        expect(sha256(atServer.received)).toBe(sha256(toServer))
        expect(sha256(atClient.received)).toBe(sha256(toClient))
        // Frames were really lost across the reset: TCP had to retransmit.
        expect(a.stack.tcp.counters.retransmits + b.stack.tcp.counters.retransmits).toBeGreaterThan(0)
        // Even talking to the reset chip before noticing broke no datasheet rule.
        expect(a.chip.violations).toEqual([])
        expect(b.chip.violations).toEqual([])
        const other = victim === a ? b : a
        expect(other.driver.counters.chipResets).toBe(0)
    }, 60000)
})

async function closeBoth(x: TcpSocket, y: TcpSocket): Promise<void> {
    await Promise.all([x.close().catch(() => {}), y.close().catch(() => {})])
}
