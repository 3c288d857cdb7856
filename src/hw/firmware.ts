// The firmware (DeviceScript): bring up the ENC28J60 and the whole stack, then serve echo
// (port 7), discard (port 9) and the status page (port 80). src/main.ts only starts it; test
// and measurement programs (test/devs/static-settings.ts, test/devs/heap-probe.ts) start the
// very same code. Pins come from the board file (boards/esp32_devkit_enc28j60.board.json,
// wired as in the README). The address comes from DHCP (static fallback: src/config.ts),
// or from the device settings IP, NETMASK, GATEWAY (.env.defaults / .env.local, see the
// README); the console says which, so a user knows where to `nc`.
import * as ds from "@devicescript/core"
import { readSetting } from "@devicescript/settings"
import { pins } from "@dsboard/esp32_devkit_enc28j60"
import { Esp32SpiBus } from "./esp32-spi-bus"
import { BridgeSpiBus } from "./bridge-spi-bus"
import { SpiBus } from "../driver/spi-bus"
import { DsScheduler } from "./ds-scheduler"
import { deviceTiming } from "./ds-timing"
import { Enc28j60 } from "../driver/enc28j60/enc28j60"
import { NetStack } from "../stack"
import { EchoServer } from "../apps/echo"
import { DiscardServer } from "../apps/discard"
import { StatusServer } from "../apps/status"
import { makeConfig } from "../config"
import { formatIpv4, parseIpv4 } from "../wire/ipv4"

/**
 * What the firmware changes in the defaults, sized for the 64 KB heap with the apps below
 * (measured in the DeviceScript VM, whose heap is the ESP32's: see the README's memory
 * budget): 3 connection slots with 2 KB + 2 KB rings, 2 transmit frames, 4 ARP entries (a
 * gateway and a few LAN peers), 2 half-open requests (3 listeners of backlog 1; SYN cookies
 * answer beyond that), DHCP on. A JSON text because a string is data and an object literal
 * is code.
 */
const FIRMWARE_CONFIG = '{"dhcp":true,"tcpConnections":3,"tcpListeners":3,"txFrames":2,"arpEntries":4,"tcpSynQueue":2}'

/** 31 random bits from the runtime's generator; two of them make the 62-bit TCP secret. */
function randomWord(): number {
    return Math.floor(Math.random() * 0x7fffffff)
}

function logAddress(ip: number): void {
    console.log("address " + formatIpv4(ip) + (ip !== 0 ? ": try  nc " + formatIpv4(ip) + " 7" : " (lost)"))
}

/** Starts the firmware; resolves with the status server (its `page.stack` is the stack) once all is up. */
export async function startFirmware(): Promise<StatusServer> {
    // A locally administered MAC from the chip's unique id (the ENC28J60 has none of its
    // own), and a fresh secret for ISNs and SYN cookies at every boot (RFC 6528).
    const id = Buffer.from(ds.deviceIdentifier("self"), "hex")
    const config = makeConfig(JSON.parse(FIRMWARE_CONFIG))
    for (let i = 1; i < 6; i++) config.mac[i] = id[i] // config.mac[0] is 0x02: local, unicast
    config.tcpSecretSeed = randomWord()
    config.tcpSecretSeed2 = randomWord()
    // Device settings: IP (with NETMASK, default 255.255.255.0, and GATEWAY, default none)
    // is a static address instead of DHCP; with DHCP=1 as well, it is only DHCP's fallback.
    // (A bad NETMASK or GATEWAY stops the start with "config: bad ... address".)
    const ip = "" + (await readSetting("IP", ""))
    if (parseIpv4(ip) > 0) {
        config.ip = ip
        config.netmask = "" + (await readSetting("NETMASK", "255.255.255.0"))
        config.gateway = "" + (await readSetting("GATEWAY", "0.0.0.0"))
        config.dhcp = (await readSetting("DHCP")) === 1
    } else if (ip) console.log("setting IP=" + ip + ": not a dotted quad, ignored (DHCP)")
    let bus: SpiBus
    try {
        bus = new Esp32SpiBus(pins.ENC_SCK.gpio, pins.ENC_MOSI.gpio, pins.ENC_MISO.gpio, pins.ENC_CS.gpio, 20000000)
    } catch (e) {
        // No SPI: the DeviceScript simulator; sim/vm-bridge.ts carries the bus to the chip model.
        bus = await BridgeSpiBus.open()
    }
    const driver = new Enc28j60(bus, deviceTiming, { mac: config.mac })
    const stack = new NetStack(config, new DsScheduler(), driver)
    // Connection slots are shared: a client waiting in an accept queue holds one too. Echo
    // serves up to 2 clients, discard and status 1 each, every listener with a backlog of 1;
    // a client beyond the 3 slots is turned away at SYN time (dropped, so its TCP retries)
    // until a slot frees.
    const echo = new EchoServer(stack.sockets, JSON.parse('{"maxClients":2,"backlog":1}'))
    const discard = new DiscardServer(stack.sockets, JSON.parse('{"workers":1,"backlog":1}')) // (JSON: data, not code)
    const status = new StatusServer(stack, { driverCounters: driver.counters, pageSize: 1536 })
    if (stack.dhcp !== null) stack.dhcp.onAddress = logAddress
    await stack.start()
    console.log("enc28j60 rev " + driver.revision + " up; echo:7 discard:9 status:80")
    echo.start()
    discard.start()
    status.start()
    if (stack.dhcp === null) logAddress(stack.iface.ip) // static: no lease to wait for
    return status
}
