// Regression tests for sender SWS avoidance against a peer whose window stays below half
// the largest window it once offered (RFC 9293 §3.8.6.2.1's override timeout).
//
// Found by test/interop-passt.test.ts: passt (Debian 0.0~git20230309) announces window
// scale 8 in its SYN and keeps shifting its windows by 8 even though our SYN-ACK carries no
// window-scale option, so after a 65535-byte SYN window it offers "256" for ever. The device
// sent 256 bytes per persist timeout, and that timeout backed off exponentially although the
// peer acknowledged every segment: 0.2 s, 0.4 s, 0.8 s ... 6.4 s, until passt gave up.
import { describe, expect, test } from "vitest"
import { established, Fixture, to, u32 } from "./helpers/tcp-fixtures"
import { TcpConnStats } from "../src/tcp/info"

function ack(f: Fixture, n: number, win: number) {
    f.h.send(to(f, { flags: "A", seq: f.rcv, ack: u32(f.snd + n), win }))
}

describe("sender SWS avoidance with a peer that keeps its window small", () => {
    test("after one override timeout, each ACK releases the next window-sized segment at once", () => {
        const f = established({}, 65535)
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        ack(f, 0, 256)
        f.h.none()
        expect(f.h.write(f.id, Buffer.alloc(2048, 7))).toBe(2048)
        // Below half of the 65535 seen: SWS avoidance holds it until the override timeout.
        f.h.none()
        f.h.advance(199)
        f.h.none()
        f.h.advance(1)
        let s = f.h.one()
        expect(s).toMatchObject({ seq: f.snd, payload: Buffer.alloc(256, 7) })
        let acked = 256
        // From now on the peer's buffer is known to be small: no more waiting.
        while (acked < 2048) {
            ack(f, acked, 256)
            s = f.h.one()
            expect(s.seq).toBe(u32(f.snd + acked))
            expect(s.payload.length).toBe(256)
            acked += 256
        }
        ack(f, acked, 256)
        f.h.none()
        const st = new TcpConnStats()
        f.h.layer.stats(f.id, st)
        expect(st.retransmits).toBe(0)
        expect(st.timeouts).toBe(0)
    })

    test("a larger window later raises the estimate again (full segments wait for it)", () => {
        const f = established({}, 65535)
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        ack(f, 0, 256)
        f.h.write(f.id, Buffer.alloc(1000, 1))
        f.h.advance(200)
        expect(f.h.one().payload.length).toBe(256)
        // The peer offers 4000 now: the estimate follows it up, the rest goes at once.
        ack(f, 256, 4000)
        expect(f.h.one().payload.length).toBe(744)
        // 300 bytes with a 300-byte window, below half of 4000: held again (SWS avoidance).
        ack(f, 1000, 300)
        f.h.write(f.id, Buffer.alloc(600, 2))
        f.h.none()
    })

    test("zero-window probes still back off, and start over once the window has opened", () => {
        const f = established({}, 0)
        f.h.layer.setNoDelay(f.id, true, f.h.now)
        f.h.write(f.id, Buffer.alloc(100, 3))
        // Three unanswered zero-window probes: 200, 400, 800 ms apart.
        f.h.advance(200)
        f.h.one()
        f.h.advance(400)
        f.h.one()
        f.h.advance(800)
        f.h.one()
        // The window opens, the data goes and is acknowledged with the window closed again.
        ack(f, 0, 100)
        expect(f.h.one().payload.length).toBe(100)
        f.h.write(f.id, Buffer.alloc(50, 4))
        ack(f, 100, 0)
        f.h.none()
        // The first probe of this new zero window comes after the base interval, not 1.6 s.
        f.h.advance(200)
        expect(f.h.one()).toMatchObject({ flags: "A", seq: u32(f.snd + 99), payload: Buffer.alloc(0) })
    })
})
