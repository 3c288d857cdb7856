// The counters objects the status page lists (interface, TCP layer, driver) are built by
// zeroFields calls (string-literal keys: no heap strings in the VM). Every field of each
// interface must be there, in order, all 0 — a missing one would count NaN (tsc only checks
// that each name given is a field). The default StackConfig is a JSON text parsed by
// every makeConfig call.
import { describe, expect, test } from "vitest"
import { readFileSync } from "node:fs"
import { newInterfaceCounters } from "../src/iface/counters"
import { newTcpCounters } from "../src/tcp/counters"
import { newCounters } from "../src/driver/enc28j60/counters"
import { REPO_ROOT } from "./helpers/sim-cli"
import { makeConfig } from "../src/config"

/** The field names of `interface NAME { ... }` in a source file, in order. */
function interfaceFields(file: string, name: string): string[] {
    const src = readFileSync(REPO_ROOT + file, "utf8")
    const start = src.indexOf(`export interface ${name} {`)
    expect(start).toBeGreaterThanOrEqual(0)
    const body = src.slice(start, src.indexOf("\n}\n", start))
    return [...body.matchAll(/^\s+(\w+): number/gm)].map((m) => m[1])
}

describe("counters objects", () => {
    const cases: Array<[string, string, () => object]> = [
        ["src/iface/counters.ts", "InterfaceCounters", newInterfaceCounters],
        ["src/tcp/counters.ts", "TcpCounters", newTcpCounters],
        ["src/driver/enc28j60/counters.ts", "Enc28j60Counters", newCounters],
    ]
    for (const [file, name, make] of cases) {
        test(`${name}: every field, in order, 0; a fresh object each time`, () => {
            const fields = interfaceFields(file, name)
            expect(fields.length).toBeGreaterThan(10)
            const c = make() as Record<string, number>
            expect(Object.keys(c)).toEqual(fields)
            for (const f of fields) expect(c[f]).toBe(0)
            c[fields[0]]++
            expect((make() as Record<string, number>)[fields[0]]).toBe(0)
        })
    }
})

describe("the default StackConfig made from JSON", () => {
    test("names every field of StackConfig, in order, with a value of its type", () => {
        const src = readFileSync(REPO_ROOT + "src/config.ts", "utf8")
        const start = src.indexOf("export interface StackConfig {")
        const body = src.slice(start, src.indexOf("\n}\n", start))
        const fields = [...body.matchAll(/^\s+(\w+): (number\[\]|number|string|boolean)$/gm)].map((m) => [m[1], m[2]])
        expect(fields.length).toBeGreaterThan(30)
        const c = makeConfig(null) as unknown as Record<string, unknown>
        expect(Object.keys(c)).toEqual(fields.map((f) => f[0]))
        for (const [name, type] of fields) expect(type === "number[]" ? Array.isArray(c[name]) : typeof c[name]).toBe(type === "number[]" ? true : type)
    })

    test("makeConfig: a fresh object each call, overrides replace fields in place", () => {
        const a = makeConfig({ tcpConnections: 3, dhcp: true })
        expect(a.tcpConnections).toBe(3)
        expect(a.dhcp).toBe(true)
        const keys = Object.keys(a)
        a.mac[0] = 0xff
        const b = makeConfig(null)
        expect(b).not.toBe(a)
        expect(b.mac[0]).toBe(2)
        expect(b.tcpConnections).toBe(4)
        expect(Object.keys(b)).toEqual(keys) // no override added a field or moved one
    })
})
