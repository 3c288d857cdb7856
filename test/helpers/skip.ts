// Decides whether a suite that needs root or system tools can run here.
//
// On a developer machine a missing requirement skips the suite and says what to install.
// Under CI (CI=true) nothing may skip silently: .ci/run installs every tool, so a missing one
// is a broken CI image and the suite fails with the same message.

import { existsSync } from "node:fs"
import { describe, test } from "vitest"
import { findExecutable } from "../../sim/attach/process"

export interface Needs {
    /** Runs as uid 0 (network namespaces, TAP devices). */
    root?: boolean
    /** /dev/net/tun exists (TAP devices). */
    tun?: boolean
    /** Executables that must be on PATH. */
    tools?: string[]
}

/** Debian package of each tool the suites use (for the message, and for .ci/run). */
export const APT_PACKAGE: Record<string, string> = {
    passt: "passt",
    socat: "socat",
    ip: "iproute2",
    ping: "iputils-ping",
    arping: "iputils-arping",
    tshark: "tshark",
    nc: "netcat-openbsd",
    hping3: "hping3",
    dnsmasq: "dnsmasq-base",
}

export function inCI(): boolean {
    const ci = process.env.CI
    return ci !== undefined && ci !== "" && ci !== "false" && ci !== "0"
}

/** What is missing, each as a human-readable item ("root", "passt (apt-get install passt)"). */
export function missingNeeds(needs: Needs): string[] {
    const missing: string[] = []
    if (needs.root && process.getuid?.() !== 0) missing.push("root")
    if (needs.tun && !existsSync("/dev/net/tun")) missing.push("/dev/net/tun")
    for (const tool of needs.tools ?? []) {
        if (findExecutable(tool) === null) missing.push(`${tool} (apt-get install ${APT_PACKAGE[tool] ?? tool})`)
    }
    return missing
}

/**
 * For `describe.skipIf(skipUnless(...))` / `test.skipIf(...)`: true when the suite must skip,
 * after printing why. Under CI it never skips; use describeNeeds/testNeeds there to fail loudly.
 */
export function skipUnless(needs: Needs, what: string): boolean {
    const missing = missingNeeds(needs)
    if (missing.length === 0 || inCI()) return false
    console.warn(`SKIPPED ${what}: missing ${missing.join(", ")}`)
    return true
}

/**
 * describe() that skips (with a message) when needs are missing, and under CI replaces the
 * suite by one failing test naming what is missing.
 */
export function describeNeeds(title: string, needs: Needs, body: () => void): void {
    const missing = missingNeeds(needs)
    if (missing.length === 0) {
        describe(title, body)
    } else if (inCI()) {
        describe(title, () => {
            test("has what it needs (CI installs it)", () => {
                throw new Error(`${title}: missing ${missing.join(", ")} under CI; .ci/run must provide it`)
            })
        })
    } else {
        console.warn(`SKIPPED ${title}: missing ${missing.join(", ")}`)
        describe.skip(title, body)
    }
}

/** test() with the same skip/fail rule as describeNeeds. */
export function testNeeds(title: string, needs: Needs, body: () => Promise<void> | void, timeoutMs?: number): void {
    const missing = missingNeeds(needs)
    if (missing.length === 0) {
        test(title, body, timeoutMs)
    } else if (inCI()) {
        test(title, () => {
            throw new Error(`${title}: missing ${missing.join(", ")} under CI; .ci/run must provide it`)
        })
    } else {
        console.warn(`SKIPPED ${title}: missing ${missing.join(", ")}`)
        test.skip(title, body)
    }
}
