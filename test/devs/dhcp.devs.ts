// Runs in the DeviceScript VM: UDP and the DHCP client compile and behave as on Node.
// A scripted server built here byte by byte (not with src/wire/dhcp) answers DISCOVER
// and REQUEST; the client must end BOUND with the offered address.
import { describe, test, expect } from "@devicescript/test"
import { makeConfig } from "../../src/config"
import { allocBytes, copyBytes, getU16BE, getU32BE, setU16BE, setU32BE } from "../../src/util/bytes"
import { internetChecksum } from "../../src/util/checksum"
import { Interface } from "../../src/iface/interface"
import { TxFrame } from "../../src/iface/tx-pool"
import { UDP_OK, udpCheck, udpEmit } from "../../src/wire/udp"
import { UdpLayer } from "../../src/udp/udp-layer"
import { DHCP_BOUND, DHCP_REBOOTING, DHCP_RENEWING, DHCP_REQUESTING, DHCP_SELECTING, DhcpClient } from "../../src/dhcp/dhcp-client"

const SERVER_IP = 0x0a090001
const OFFERED = 0x0a090032
// The frames' offsets: Ethernet 14 + IPv4 20 + UDP 8.
const D = 42

/** A BOOTREPLY frame from 10.9.0.1 to the client's MAC: type, xid, yiaddr, server id, lease 100 s, mask /24, router. */
function reply(type: number, xid: number): Buffer {
    const opts = [53, 1, type, 54, 4, 10, 9, 0, 1, 51, 4, 0, 0, 0, 100, 1, 4, 255, 255, 255, 0, 3, 4, 10, 9, 0, 254, 255]
    const len = D + 240 + opts.length
    const b = allocBytes(len)
    for (let i = 0; i < 6; i++) b[i] = i === 0 ? 2 : i === 5 ? 2 : 0
    b[6] = 2
    b[11] = 0x67
    b[12] = 8
    b[14] = 0x45
    setU16BE(b, 16, len - 14)
    b[22] = 64
    b[23] = 17
    setU32BE(b, 26, SERVER_IP)
    setU32BE(b, 30, OFFERED)
    setU16BE(b, 24, internetChecksum(b, 14, 20))
    setU16BE(b, 34, 67)
    setU16BE(b, 36, 68)
    setU16BE(b, 38, len - 34) // checksum 0: none
    b[D] = 2
    b[D + 1] = 1
    b[D + 2] = 6
    setU32BE(b, D + 4, xid)
    setU32BE(b, D + 16, OFFERED)
    b[D + 28] = 2
    b[D + 33] = 2
    setU32BE(b, D + 236, 0x63825363)
    for (let i = 0; i < opts.length; i++) b[D + 240 + i] = opts[i]
    return b
}

/** The DHCP message type of a frame the client sent (its first option), or 0. */
function sentType(f: Buffer): number {
    return f[D + 240] === 53 ? f[D + 242] : 0
}

function take(iface: Interface): Buffer {
    const f: TxFrame = iface.nextTxFrame()
    if (f === null) return null
    const copy = allocBytes(f.len)
    copyBytes(copy, 0, f.buf, 0, f.len)
    iface.txDone(f)
    return copy
}

describe("udp and dhcp in the VM", () => {
    test("udp checksum matches the Node-computed vector", () => {
        const b = allocBytes(13)
        copyBytes(b, 8, Buffer.from("hello"), 0, 5)
        udpEmit(b, 0, 1234, 53, 5, 0x0a000221, 0x0a00020f)
        expect(b.toString("hex")).toBe("04d20035000d9ecb68656c6c6f")
        expect(udpCheck(b, 0, 13, 0x0a000221, 0x0a00020f)).toBe(UDP_OK)
        expect(udpCheck(b, 0, 13, 0x0a000221, 0x0a000210)).toBe(3)
    })
    test("DISCOVER → OFFER → REQUEST → ACK against a scripted server", () => {
        const iface = new Interface(makeConfig({ mac: [2, 0, 0, 0, 0, 2], ip: "0.0.0.0", netmask: "0.0.0.0", gateway: "0.0.0.0" }))
        const udp = new UdpLayer(iface, 2)
        const client = new DhcpClient(udp, {})
        let got = -1
        client.onAddress = (a: number) => {
            got = a
        }
        client.poll(1000)
        const disc = take(iface)
        expect(sentType(disc)).toBe(1)
        expect(getU32BE(disc, 30)).toBe(0xffffffff)
        expect(getU16BE(disc, 36)).toBe(67)
        expect(disc.length >= D + 300).toBe(true)
        expect(client.state).toBe(DHCP_SELECTING)
        const xid = getU32BE(disc, D + 4)
        const offer = reply(2, xid)
        iface.input(offer, offer.length, 1200)
        const req = take(iface)
        expect(sentType(req)).toBe(3)
        expect(getU32BE(req, D + 4)).toBe(xid)
        expect(client.state).toBe(DHCP_REQUESTING)
        const ack = reply(5, xid)
        iface.input(ack, ack.length, 1300)
        expect(client.state).toBe(DHCP_BOUND)
        expect(iface.ip).toBe(OFFERED)
        expect(iface.netmask).toBe(0xffffff00)
        expect(iface.gateway).toBe(0x0a0900fe)
        expect(got).toBe(OFFERED)
        expect(client.pollAt()).toBe(1200 + 50000)
        // T1: the renewal REQUEST waits on ARP for the server; the ARP request goes out.
        take(iface)
        client.poll(51200)
        expect(client.state).toBe(DHCP_RENEWING)
        const arp = take(iface)
        expect(getU16BE(arp, 12)).toBe(0x0806)
    })
    test("the link comes back: an INIT-REBOOT REQUEST (no server id, ciaddr 0); the ACK keeps the address", () => {
        const iface = new Interface(makeConfig({ mac: [2, 0, 0, 0, 0, 2], ip: "0.0.0.0", netmask: "0.0.0.0", gateway: "0.0.0.0" }))
        const client = new DhcpClient(new UdpLayer(iface, 2), {})
        client.poll(0)
        const xid = getU32BE(take(iface), D + 4)
        const offer = reply(2, xid)
        iface.input(offer, offer.length, 0)
        take(iface)
        const ack = reply(5, xid)
        iface.input(ack, ack.length, 0)
        take(iface) // the announcement of the new address
        expect(client.state).toBe(DHCP_BOUND)
        client.linkRestored(30000)
        expect(client.state).toBe(DHCP_REBOOTING)
        const req = take(iface)
        expect(sentType(req)).toBe(3)
        expect(getU32BE(req, D + 12)).toBe(0) // ciaddr
        // Options after the type: requested IP (50) with our address, then the parameter list (55), no 54.
        expect(req[D + 243]).toBe(50)
        expect(getU32BE(req, D + 245)).toBe(OFFERED)
        expect(req[D + 249]).toBe(55)
        const ack2 = reply(5, getU32BE(req, D + 4))
        iface.input(ack2, ack2.length, 30100)
        expect(client.state).toBe(DHCP_BOUND)
        expect(iface.ip).toBe(OFFERED)
        expect(client.pollAt()).toBe(30000 + 50000)
    })
})
