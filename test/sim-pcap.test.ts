// The pcap writer: what it writes parses back byte-exact, and tshark (if installed) reads it.
import { describe, expect, test } from "vitest"
import fc from "fast-check"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { LINKTYPE_ETHERNET, PcapWriter, parsePcap } from "../sim/pcap"
import { testNeeds } from "./helpers/skip"

function tempFile(name: string): { path: string; done: () => void } {
    const dir = mkdtempSync(join(tmpdir(), "enc-pcap-"))
    return { path: join(dir, name), done: () => rmSync(dir, { recursive: true, force: true }) }
}

// An ARP request from 02:00:00:00:00:02 (10.0.2.15) for 10.0.2.2, padded to 60 bytes.
const ARP_REQUEST = Buffer.from(
    "ffffffffffff020000000002" + "0806" + "0001080006040001" + "020000000002" + "0a00020f" + "000000000000" + "0a000202" + "00".repeat(18),
    "hex",
)

describe("pcap writer", () => {
    test("global header: magic, version 2.4, snaplen, LINKTYPE_ETHERNET", () => {
        const t = tempFile("h.pcap")
        try {
            new PcapWriter(t.path).close()
            const b = readFileSync(t.path)
            expect(b.length).toBe(24)
            expect(b.toString("hex", 0, 8)).toBe("d4c3b2a102000400")
            expect(b.readUInt32LE(16)).toBe(65535)
            expect(b.readUInt32LE(20)).toBe(LINKTYPE_ETHERNET)
        } finally {
            t.done()
        }
    })

    test("frames and microsecond timestamps parse back exactly", () => {
        const frameArb = fc.uint8Array({ minLength: 14, maxLength: 1514 }).map((a) => Buffer.from(a))
        const tsArb = fc.integer({ min: 0, max: 4_000_000_000 * 1e6 - 1 })
        const t = tempFile("p.pcap")
        try {
            fc.assert(
                fc.property(fc.array(fc.tuple(frameArb, tsArb), { maxLength: 20 }), (records) => {
                    const w = new PcapWriter(t.path)
                    for (const [f, ts] of records) w.write(f, ts)
                    w.close()
                    const p = parsePcap(readFileSync(t.path))
                    expect(p.linkType).toBe(LINKTYPE_ETHERNET)
                    expect(p.frames.map((r) => [r.frame, r.tsUs, r.origLength])).toEqual(records.map(([f, ts]) => [f, ts, f.length]))
                }),
                { numRuns: 50 },
            )
        } finally {
            t.done()
        }
    })

    test("uses its clock when no timestamp is given, and the file is complete before close", () => {
        const t = tempFile("c.pcap")
        try {
            let now = 1_700_000_000_123_456
            const w = new PcapWriter(t.path, () => now)
            w.write(ARP_REQUEST)
            now += 250
            w.write(ARP_REQUEST)
            const p = parsePcap(readFileSync(t.path))
            expect(p.frames.map((f) => f.tsUs)).toEqual([1_700_000_000_123_456, 1_700_000_000_123_706])
            expect(w.frames).toBe(2)
            w.close()
        } finally {
            t.done()
        }
    })

    test("the parser rejects a truncated file", () => {
        const t = tempFile("t.pcap")
        try {
            const w = new PcapWriter(t.path)
            w.write(ARP_REQUEST, 0)
            w.close()
            const b = readFileSync(t.path)
            expect(() => parsePcap(b.subarray(0, b.length - 1))).toThrow(/truncated/)
            expect(() => parsePcap(Buffer.alloc(24))).toThrow(/magic/)
        } finally {
            t.done()
        }
    })

    testNeeds("tshark reads the capture: frame times, lengths and the ARP fields", { tools: ["tshark"] }, () => {
        const t = tempFile("x.pcap")
        try {
            const w = new PcapWriter(t.path)
            w.write(ARP_REQUEST, 1_700_000_000_000_001)
            w.write(Buffer.from(ARP_REQUEST), 1_700_000_000_500_000)
            w.close()
            const out = execFileSync(
                "tshark",
                ["-r", t.path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "eth.src", "-e", "arp.src.proto_ipv4", "-e", "arp.dst.proto_ipv4"],
                { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
            )
            const rows = out.trim().split("\n").map((l) => l.split("\t"))
            expect(rows.length).toBe(2)
            expect(rows[0][0]).toMatch(/^1700000000\.000001/)
            expect(rows[1][0]).toMatch(/^1700000000\.5/)
            for (const r of rows) expect(r.slice(1)).toEqual(["60", "02:00:00:00:00:02", "10.0.2.15", "10.0.2.2"])
        } finally {
            t.done()
        }
    })
})
