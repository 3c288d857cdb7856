// The one configuration that sizes every buffer and table of the stack.
// Everything is allocated once, at start-up, from these numbers.

export interface StackConfig {
    /** Our Ethernet address, 6 bytes as numbers. */
    mac: number[]
    /** IPv4 address, netmask and gateway as dotted quads ("0.0.0.0" = none yet). */
    ip: string
    netmask: string
    gateway: string
    /** Largest IP datagram we send or accept (Ethernet payload). */
    mtu: number
    /** Frames the interface can hold on the way out (each mtu + 14 bytes). */
    txFrames: number
    /** ARP cache entries, and how long an entry stays valid. */
    arpEntries: number
    arpTtlMs: number
    /** Minimum gap between two ARP requests for the same address. */
    arpRequestIntervalMs: number
    /** An unresolved address is given up after this long (its pending packet is dropped). */
    arpResolveTimeoutMs: number
    /** TTL of IP datagrams we originate. */
    ttl: number
}

export const DEFAULT_CONFIG: StackConfig = {
    mac: [0x02, 0x00, 0x00, 0x00, 0x00, 0x02],
    ip: "10.0.2.15",
    netmask: "255.255.255.0",
    gateway: "10.0.2.2",
    mtu: 1500,
    txFrames: 3,
    arpEntries: 8,
    arpTtlMs: 300000,
    arpRequestIntervalMs: 1000,
    arpResolveTimeoutMs: 3000,
    ttl: 64,
}

/** A copy of the default config with some fields replaced. */
export function makeConfig(overrides: any): StackConfig {
    const c: any = {}
    const d: any = DEFAULT_CONFIG
    for (const k of Object.keys(d)) c[k] = d[k]
    if (overrides) for (const k of Object.keys(overrides)) c[k] = overrides[k]
    return c as StackConfig
}
