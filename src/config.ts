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

    // --- TCP (src/tcp). Memory: each connection slot holds tcpSendBuffer + tcpRecvBuffer
    // bytes of rings plus its control block, allocated once at start-up.
    /** Connection slots (active, accepted, waiting in accept queues, TIME-WAIT). */
    tcpConnections: number
    /** Send and receive ring sizes per connection, bytes. */
    tcpSendBuffer: number
    tcpRecvBuffer: number
    /** Out-of-order ranges the receive side remembers per connection (RFC 9293 §3.10.7.4). */
    tcpReassemblyRanges: number
    /** Listening ports at once. */
    tcpListeners: number
    /** Largest listen() backlog (each of the SYN queue and accept queue of a listener). */
    tcpBacklogMax: number
    /** Half-open (SYN-RECEIVED) requests held for all listeners together. */
    tcpSynQueue: number
    /** Answer SYNs with SYN cookies when a listener's SYN queue is full. */
    tcpSynCookies: boolean
    /** MSS we announce; 0 = mtu - 40, at most half the receive ring (two segments fit the window). */
    tcpMss: number
    /** RFC 6298 retransmission timeout bounds and first value, ms (RFC's minimum is 1 s; Linux uses 200 ms). */
    tcpRtoMinMs: number
    tcpRtoMaxMs: number
    tcpRtoInitialMs: number
    /** Retransmissions of one segment before the connection fails with ETIMEDOUT. */
    tcpMaxRetries: number
    /** SYN retransmissions of an active open, SYN-ACK retransmissions of a half-open request. */
    tcpSynRetries: number
    tcpSynAckRetries: number
    /** TIME-WAIT duration (2*MSL), and how long an orphaned FIN-WAIT-2 waits for the peer's FIN. */
    tcpTimeWaitMs: number
    tcpFinWait2Ms: number
    /**
     * Longest an orphan (closed by the user, still FIN-WAIT-1, CLOSING or LAST-ACK) may live
     * before it is reset: a peer that answers every probe with a zero window would keep it
     * for ever (Linux bounds this with tcp_orphan_retries).
     */
    tcpOrphanTimeoutMs: number
    /** Delayed-ACK timer (RFC 1122 §4.2.3.2 and RFC 5681 §4.2: under 500 ms; we keep it <= 200). */
    tcpDelayedAckMs: number
    /** Keepalive defaults (RFC 1122 §4.2.3.6), used when a connection turns keepalive on. */
    tcpKeepIdleMs: number
    tcpKeepIntervalMs: number
    tcpKeepCount: number
    /** RFC 5961 challenge ACKs allowed per second, all connections together. */
    tcpChallengeAckLimit: number
    /** Ephemeral port range for active opens (RFC 6056 §2.1). */
    tcpEphemeralMin: number
    tcpEphemeralMax: number
    /** Seed of the secret key for ISNs, SYN cookies and port choice: pass a random number at boot. */
    tcpSecretSeed: number
    /** Second random seed word: every key takes a word from each, so it is not one 31-bit guess. */
    tcpSecretSeed2: number

    // --- UDP and DHCP (src/udp, src/dhcp)
    /** UDP ports that can be bound at once (DHCP takes one). */
    udpPorts: number
    /** Get the address by DHCP; ip/netmask/gateway above are then the fallback. */
    dhcp: boolean
    /** DISCOVERs without an offer before the static fallback is taken. */
    dhcpMaxDiscovers: number
}

/**
 * The defaults, as a JSON text: in DeviceScript a string is data, while an object literal is
 * function code (the image holds at most 64 KB of it; this saves about 300 bytes).
 * test/status-counters.test.ts checks that it names every field above. Parsed at each
 * makeConfig call, never kept in a module constant: a constant would hold a parsed copy
 * (its keys are heap strings) for ever, while the stack reads the config it is given at
 * start-up and keeps none of it.
 */
const DEFAULT_CONFIG_TEXT =
    // Interface: MAC 02:00:00:00:00:02, the passt addresses, 3 frames, 8 ARP entries (5 min TTL).
    '{"mac":[2,0,0,0,0,2],"ip":"10.0.2.15","netmask":"255.255.255.0","gateway":"10.0.2.2",' +
        '"mtu":1500,"txFrames":3,"arpEntries":8,"arpTtlMs":300000,"arpRequestIntervalMs":1000,' +
        '"arpResolveTimeoutMs":3000,"ttl":64,' +
        // TCP: 4 slots with 2 KB + 2 KB rings; RFC 6298 timers with Linux's 200 ms floor.
        '"tcpConnections":4,"tcpSendBuffer":2048,"tcpRecvBuffer":2048,"tcpReassemblyRanges":4,' +
        '"tcpListeners":2,"tcpBacklogMax":4,"tcpSynQueue":4,"tcpSynCookies":true,"tcpMss":0,' +
        '"tcpRtoMinMs":200,"tcpRtoMaxMs":60000,"tcpRtoInitialMs":1000,"tcpMaxRetries":10,' +
        '"tcpSynRetries":5,"tcpSynAckRetries":4,"tcpTimeWaitMs":60000,"tcpFinWait2Ms":60000,' +
        '"tcpOrphanTimeoutMs":60000,"tcpDelayedAckMs":100,"tcpKeepIdleMs":7200000,' +
        '"tcpKeepIntervalMs":75000,"tcpKeepCount":9,"tcpChallengeAckLimit":10,' +
        '"tcpEphemeralMin":49152,"tcpEphemeralMax":65535,"tcpSecretSeed":0,"tcpSecretSeed2":0,' +
        // UDP and DHCP: static address unless a caller turns DHCP on.
        '"udpPorts":2,"dhcp":false,"dhcpMaxDiscovers":4}'

/** A fresh default config with the fields of `overrides` (if any) replaced. */
export function makeConfig(overrides: any): StackConfig {
    const c: any = JSON.parse(DEFAULT_CONFIG_TEXT)
    if (overrides) for (const k of Object.keys(overrides)) c[k] = overrides[k]
    return c as StackConfig
}
