// One-line frame summaries for the CLI's --trace.
import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { summarizeFrame } from "../sim/trace"

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex")

describe("summarizeFrame", () => {
    test("ARP request and reply", () => {
        const req = hex("ffffffffffff 0200000000aa 0806 0001 0800 06 04 0001 0200000000aa 0a000202 000000000000 0a00020f")
        expect(summarizeFrame(req)).toBe("02:00:00:00:00:aa > ff:ff:ff:ff:ff:ff ARP who-has 10.0.2.15 tell 10.0.2.2")
        const rep = hex("0200000000aa 020000000002 0806 0001 0800 06 04 0002 020000000002 0a00020f 0200000000aa 0a000202")
        expect(summarizeFrame(rep)).toBe("02:00:00:00:00:02 > 02:00:00:00:00:aa ARP 10.0.2.15 is-at 02:00:00:00:00:02")
    })

    test("ICMP echo and a TCP SYN", () => {
        const eth = "020000000002 0200000000aa 0800"
        const echo = hex(eth + "4500 0024 0000 0000 4001 0000 0a000202 0a00020f" + "0800 0000 1234 0007" + "aabbccddeeff0011")
        expect(summarizeFrame(echo)).toBe("10.0.2.2 > 10.0.2.15 ICMP echo request id 4660 seq 7 len 8")
        const syn = hex(eth + "4500 0028 0000 0000 4006 0000 0a000202 0a00020f" + "9c40 0007 00000064 00000000 5002 ffff 0000 0000")
        expect(summarizeFrame(syn)).toBe("10.0.2.2 > 10.0.2.15 TCP 40000 > 7 [S] seq 100 ack 0 win 65535 len 0")
    })

    test("other ethertypes, runts and arbitrary bytes never throw", () => {
        expect(summarizeFrame(Buffer.alloc(5))).toBe("runt frame (5 bytes)")
        expect(summarizeFrame(hex("333300000001 020000000002 86dd" + "00".repeat(40)))).toMatch(/ethertype 0x86dd len 54/)
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(0x0800, 0x0806, 0x86dd), (bytes, type) => {
                const f = Buffer.from(bytes)
                if (f.length >= 14) f.writeUInt16BE(type, 12)
                expect(typeof summarizeFrame(f)).toBe("string")
            }),
        )
    })
})
