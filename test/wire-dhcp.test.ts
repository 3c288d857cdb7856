import { describe, expect, test } from "vitest"
import fc from "fast-check"
import {
    DHCPACK, DHCPOFFER, DHCP_OPTIONS_OFFSET, DhcpRepr, OPT_MESSAGE_TYPE, OPT_REQUESTED_IP, V_DNS, V_LEASE, V_T1, V_T2, dhcpEmitHeader, dhcpParse, dhcpPutOption,
} from "../src/wire/dhcp"

const MAC = Buffer.from([2, 0, 0, 0, 0, 0x42])

/** An independent BOOTREPLY builder (RFC 2131 figure 1); options as [code, bytes] pairs, end added. */
function reply(xid: number, yiaddr: number, options: [number, number[]][], end = true): Buffer {
    const fixed = Buffer.alloc(240)
    fixed[0] = 2
    fixed[1] = 1
    fixed[2] = 6
    fixed.writeUInt32BE(xid >>> 0, 4)
    fixed.writeUInt32BE(yiaddr >>> 0, 16)
    MAC.copy(fixed, 28)
    fixed.writeUInt32BE(0x63825363, 236)
    const opts: number[] = []
    for (const [code, data] of options) opts.push(code, data.length, ...data)
    if (end) opts.push(255)
    return Buffer.concat([fixed, Buffer.from(opts)])
}

const be = (x: number) => [(x >>> 24) & 255, (x >>> 16) & 255, (x >>> 8) & 255, x & 255]

describe("DHCP messages (RFC 2131, RFC 2132)", () => {
    test("parses every option a client uses, in any order, with pads, at any offset", () => {
        const u32 = fc.integer({ min: 1, max: 0xffffffff })
        fc.assert(
            fc.property(u32, u32, u32, u32, u32, u32, fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 5 }), (xid, yi, mask, lease, sid, router, off, pads) => {
                const opts: [number, number[]][] = [
                    [51, be(lease)],
                    [54, be(sid)],
                    [1, be(mask)],
                    [3, [...be(router), 9, 9, 9, 9]], // two routers: the first is taken
                    [12, [104, 105]], // host name: skipped
                    [53, [DHCPOFFER]],
                ]
                const m = reply(xid, yi, fc.sample(fc.shuffledSubarray(opts, { minLength: 6, maxLength: 6 }), 1)[0])
                const withPads = Buffer.concat([m.subarray(0, 240), Buffer.alloc(pads), m.subarray(240)])
                const b = Buffer.concat([Buffer.alloc(off), withPads])
                const r = new DhcpRepr()
                expect(dhcpParse(b, off, withPads.length, r)).toBe(true)
                expect([r.type, r.xid, r.yiaddr]).toEqual([DHCPOFFER, xid, yi])
                // v: mask, router, DNS, lease, server id, T1, T2.
                expect(r.v).toEqual([mask, router, 0, lease, sid, 0, 0])
                expect(b.subarray(r.chaddrOff, r.chaddrOff + 6)).toEqual(MAC)
            }),
        )
    })

    test("reads T1, T2 and DNS; a missing end option is tolerated", () => {
        const m = reply(7, 0x0a000032, [[53, [DHCPACK]], [58, be(10)], [59, be(20)], [6, be(0x08080808)]], false)
        const r = new DhcpRepr()
        expect(dhcpParse(m, 0, m.length, r)).toBe(true)
        expect(r.type).toBe(DHCPACK)
        expect([r.v[V_T1], r.v[V_T2], r.v[V_DNS], r.v[V_LEASE]]).toEqual([10, 20, 0x08080808, 0])
    })

    test("stale values from an earlier message do not survive", () => {
        const r = new DhcpRepr()
        const a = reply(1, 5, [[53, [DHCPACK]], [51, be(99)], [1, be(0xffffff00)]])
        expect(dhcpParse(a, 0, a.length, r)).toBe(true)
        const b = reply(2, 6, [[53, [DHCPACK]]])
        expect(dhcpParse(b, 0, b.length, r)).toBe(true)
        expect(r.v).toEqual([0, 0, 0, 0, 0, 0, 0])
    })

    test("rejects malformed messages", () => {
        const good = reply(1, 2, [[53, [DHCPOFFER]], [54, be(3)]])
        const r = new DhcpRepr()
        const ok = (b: Buffer, len = b.length) => dhcpParse(b, 0, len, r)
        expect(ok(good)).toBe(true)
        expect(ok(good, 239)).toBe(false) // shorter than fixed part + cookie
        expect(dhcpParse(good, 1, good.length, r)).toBe(false) // past the buffer
        const mut = (i: number, v: number) => {
            const b = Buffer.from(good)
            b[i] = v
            return b
        }
        expect(ok(mut(0, 1))).toBe(false) // BOOTREQUEST, not a reply
        expect(ok(mut(1, 6))).toBe(false) // not Ethernet
        expect(ok(mut(2, 16))).toBe(false) // hlen
        expect(ok(mut(239, 0x64))).toBe(false) // magic cookie
        expect(ok(reply(1, 2, [[54, be(3)]]))).toBe(false) // no message type
        expect(ok(reply(1, 2, [[53, [9]]]))).toBe(false) // unknown message type
        expect(ok(reply(1, 2, [[53, [2, 2]]]))).toBe(false) // message type of length 2
        expect(ok(reply(1, 2, [[53, [2]], [51, [0, 0, 1]]]))).toBe(false) // lease shorter than 4
        const overrun = reply(1, 2, [[53, [2]], [12, [65, 66, 67]]], false)
        expect(ok(overrun, overrun.length - 1)).toBe(false) // option runs past the end
        const noLen = Buffer.concat([reply(1, 2, [[53, [2]]], false), Buffer.from([51])])
        expect(ok(noLen)).toBe(false) // option code without a length byte
    })

    test("dhcpParse never throws and stays in bounds on random bytes after a valid header", () => {
        const head = reply(1, 2, [], false)
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 80 }), (tail) => {
                const b = Buffer.concat([head, Buffer.from(tail)])
                const r = new DhcpRepr()
                const res = dhcpParse(b, 0, b.length, r)
                if (res) expect(r.type >= 1 && r.type <= 8).toBe(true)
            }),
        )
    })

    test("emits a BOOTREQUEST's fixed part over old bytes, and options", () => {
        const b = Buffer.alloc(300, 0xaa)
        const p0 = dhcpEmitHeader(b, 2, 0xdeadbeef, 70000, true, 0x0a000033, MAC)
        expect(p0).toBe(2 + DHCP_OPTIONS_OFFSET)
        let p = dhcpPutOption(b, p0, OPT_MESSAGE_TYPE, 1, 3)
        p = dhcpPutOption(b, p, OPT_REQUESTED_IP, 4, 0x0a000032)
        expect(p).toBe(p0 + 9)
        const m = b.subarray(2, p)
        expect([m[0], m[1], m[2], m[3]]).toEqual([1, 1, 6, 0])
        expect(m.readUInt32BE(4)).toBe(0xdeadbeef)
        expect(m.readUInt16BE(8)).toBe(0xffff) // secs saturate
        expect(m.readUInt16BE(10)).toBe(0x8000) // broadcast flag
        expect(m.readUInt32BE(12)).toBe(0x0a000033) // ciaddr
        expect(m.subarray(16, 28).every((x) => x === 0)).toBe(true) // yiaddr siaddr giaddr
        expect(m.subarray(28, 34)).toEqual(MAC)
        expect(m.subarray(34, 236).every((x) => x === 0)).toBe(true) // rest of chaddr, sname, file
        expect(m.readUInt32BE(236)).toBe(0x63825363)
        expect([...m.subarray(240)]).toEqual([53, 1, 3, 50, 4, 10, 0, 0, 0x32])
        expect(b[0]).toBe(0xaa)
        expect(dhcpEmitHeader(b, 0, 1, 0, false, 0, MAC)).toBe(240)
        expect(b.readUInt16BE(10)).toBe(0)
    })
})
