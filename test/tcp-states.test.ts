// The rows of RFC 9293 §3.10.7.4 that apply to every synchronized state, checked in each:
// sequence acceptability, RST (with RFC 5961), SYN, ACK bit and range, text after FIN.
import { describe, expect, test } from "vitest"
import {
    closeWait, closing, established, finWait1, finWait2, Fixture, lastAck, synReceived, timeWait, to, u32,
} from "./helpers/tcp-fixtures"
import { ECONNREFUSED, ECONNRESET } from "../src/tcp/errors"

const STATES: [string, () => Fixture, number][] = [
    ["SYN-RECEIVED", synReceived, ECONNREFUSED],
    ["ESTABLISHED", established, ECONNRESET],
    ["FIN-WAIT-1", finWait1, ECONNRESET],
    ["FIN-WAIT-2", finWait2, ECONNRESET],
    ["CLOSE-WAIT", closeWait, ECONNRESET],
    ["CLOSING", closing, 0],
    ["LAST-ACK", lastAck, 0],
    ["TIME-WAIT", timeWait, 0],
]

describe.each(STATES)("%s", (name, fixture, resetError) => {
    test("unacceptable segment: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, state kept", () => {
        const f = fixture()
        f.h.send(to(f, { flags: "PA", seq: u32(f.rcv + 100000), ack: f.snd, payload: "far" }))
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: f.rcv })
        expect(f.h.stateOf(f.id)).toBe(name)
    })
    test("RST outside the window: dropped", () => {
        const f = fixture()
        f.h.send(to(f, { flags: "R", seq: u32(f.rcv + 100000) }))
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe(name)
    })
    test("RST in the window but not at RCV.NXT: challenge ACK", () => {
        const f = fixture()
        f.h.send(to(f, { flags: "R", seq: u32(f.rcv + 10) }))
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: f.rcv })
        expect(f.h.stateOf(f.id)).toBe(name)
    })
    test("RST at RCV.NXT: CLOSED" + (resetError ? " with an error" : " quietly"), () => {
        const f = fixture()
        f.h.send(to(f, { flags: "R", seq: f.rcv }))
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe("CLOSED")
        expect(f.h.layer.error(f.id)).toBe(resetError)
    })
    test("SYN in the window: challenge ACK (RFC 5961 §4)", () => {
        const f = fixture()
        f.h.send(to(f, { flags: "S", seq: u32(f.rcv + 10) }))
        expect(f.h.one()).toMatchObject({ flags: "A", seq: f.snd, ack: f.rcv })
        expect(f.h.stateOf(f.id)).toBe(name)
    })
    test("no ACK bit: dropped", () => {
        const f = fixture()
        f.h.send(to(f, { flags: "P", seq: f.rcv, payload: "x" }))
        f.h.none()
        expect(f.h.stateOf(f.id)).toBe(name)
        expect(f.h.layer.bytesReadable(f.id)).toBe(0)
    })
    test("ACK of something never sent: " + (name === "SYN-RECEIVED" ? "RST" : "challenge ACK"), () => {
        const f = fixture()
        f.h.send(to(f, { flags: "A", seq: f.rcv, ack: u32(f.snd + 1000) }))
        const s = f.h.one()
        if (name === "SYN-RECEIVED") expect(s).toMatchObject({ flags: "R", seq: u32(f.snd + 1000) })
        else expect(s).toMatchObject({ flags: "A", seq: f.snd, ack: f.rcv })
        expect(f.h.stateOf(f.id)).toBe(name)
    })
    if (name === "CLOSE-WAIT" || name === "CLOSING" || name === "LAST-ACK" || name === "TIME-WAIT") {
        test("text after the peer's FIN is ignored", () => {
            const f = fixture()
            f.h.send(to(f, { flags: "PA", seq: f.rcv, ack: f.snd, payload: "late" }))
            expect(f.h.layer.bytesReadable(f.id)).toBe(0)
        })
    }
})
