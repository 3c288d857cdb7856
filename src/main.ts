// Firmware entry point (DeviceScript): bring up the ENC28J60 and the whole stack, then
// serve echo (port 7) and discard (port 9). Pins come from the board file
// (boards/esp32_devkit_enc28j60.board.json, wired as in the README). The address comes
// from DHCP (static fallback: src/config.ts); the console says which, so a user knows where
// to `nc`.
import * as ds from "@devicescript/core"
import { pins } from "@dsboard/esp32_devkit_enc28j60"
import { Esp32SpiBus } from "./hw/esp32-spi-bus"
import { BridgeSpiBus } from "./hw/bridge-spi-bus"
import { SpiBus } from "./driver/spi-bus"
import { DsScheduler } from "./hw/ds-scheduler"
import { deviceTiming } from "./hw/ds-timing"
import { Enc28j60 } from "./driver/enc28j60/enc28j60"
import { NetStack } from "./stack"
import { EchoServer } from "./apps/echo"
import { DiscardServer } from "./apps/discard"
import { StatusServer } from "./apps/status"
import { makeConfig } from "./config"
import { formatIpv4 } from "./wire/ipv4"

/** 31 random bits from the runtime's generator; two of them make the 62-bit TCP secret. */
function randomWord(): number {
    return Math.floor(Math.random() * 0x7fffffff)
}

async function main() {
    // A locally administered MAC from the chip's unique id (the ENC28J60 has none of its
    // own), and a fresh secret for ISNs and SYN cookies at every boot (RFC 6528).
    const id = Buffer.from(ds.deviceIdentifier("self"), "hex")
    const mac = [0x02, id[1], id[2], id[3], id[4], id[5]]
    // Sized for the 64 KB heap with the apps below (measured in the DeviceScript VM, whose
    // heap is the ESP32's): 3 connection slots with 2 KB + 2 KB rings, 2 transmit frames.
    const config = makeConfig({
        mac: mac,
        dhcp: true,
        tcpConnections: 3,
        tcpListeners: 3,
        txFrames: 2,
        tcpSecretSeed: randomWord(),
        tcpSecretSeed2: randomWord(),
    })
    let bus: SpiBus
    try {
        bus = new Esp32SpiBus({
            sck: pins.ENC_SCK.gpio,
            mosi: pins.ENC_MOSI.gpio,
            miso: pins.ENC_MISO.gpio,
            cs: pins.ENC_CS.gpio,
            hz: 20000000,
        })
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
    const echo = new EchoServer(stack.sockets, { maxClients: 2, backlog: 1 })
    const discard = new DiscardServer(stack.sockets, { workers: 1, backlog: 1 })
    const status = new StatusServer(stack, { driverCounters: driver.counters, pageSize: 1536 })
    stack.dhcp.onAddress = (ip: number) => {
        console.log("address " + formatIpv4(ip) + (ip !== 0 ? ": try  nc " + formatIpv4(ip) + " 7" : " (lost)"))
    }
    await stack.start()
    console.log("enc28j60 rev " + driver.revision + " up, waiting for DHCP; echo:7 discard:9 status:80")
    echo.start()
    discard.start()
    status.start()
}

main.start()
