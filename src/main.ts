// Firmware entry point (DeviceScript): bring up the ENC28J60 and the whole stack, then
// serve echo (port 7) and discard (port 9). Pins come from the board file
// (boards/esp32_devkit_enc28j60.board.json, wired as in the README); the address is the
// static default of src/config.ts until the firmware issue brings DHCP.
import { pins } from "@dsboard/esp32_devkit_enc28j60"
import { Esp32SpiBus } from "./hw/esp32-spi-bus"
import { DsScheduler } from "./hw/ds-scheduler"
import { deviceTiming } from "./hw/ds-timing"
import { Enc28j60 } from "./driver/enc28j60/enc28j60"
import { NetStack } from "./stack"
import { EchoServer } from "./apps/echo"
import { DiscardServer } from "./apps/discard"
import { DEFAULT_CONFIG } from "./config"
import { formatIpv4 } from "./wire/ipv4"

async function main() {
    const config = DEFAULT_CONFIG
    const bus = new Esp32SpiBus({
        sck: pins.ENC_SCK.gpio,
        mosi: pins.ENC_MOSI.gpio,
        miso: pins.ENC_MISO.gpio,
        cs: pins.ENC_CS.gpio,
        hz: 20000000,
    })
    const driver = new Enc28j60(bus, deviceTiming, { mac: config.mac })
    const stack = new NetStack(config, new DsScheduler(), driver)
    // One slot stays free for discard; echo serves the others.
    const echo = new EchoServer(stack.sockets, { maxClients: config.tcpConnections - 1 })
    const discard = new DiscardServer(stack.sockets, { workers: 1 })
    await stack.start()
    console.log("enc28j60 rev " + driver.revision + " up; " + formatIpv4(stack.iface.ip) + " echo:7 discard:9")
    echo.start()
    discard.start()
}

main.start()
