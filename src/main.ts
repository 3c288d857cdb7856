// Firmware entry point (DeviceScript): bring up the ENC28J60 and the whole stack, then
// serve echo (port 7). Pins and addresses are the defaults of an
// ESP32 DevKit wired as in the README; board files and DHCP come with the firmware issue.
import { Esp32SpiBus } from "./hw/esp32-spi-bus"
import { DsScheduler } from "./hw/ds-scheduler"
import { deviceTiming } from "./hw/ds-timing"
import { Enc28j60 } from "./driver/enc28j60/enc28j60"
import { NetStack } from "./stack"
import { EchoServer } from "./apps/echo"
import { DEFAULT_CONFIG } from "./config"
import { formatIpv4 } from "./wire/ipv4"

async function main() {
    const config = DEFAULT_CONFIG
    const bus = new Esp32SpiBus({ sck: 18, mosi: 23, miso: 19, cs: 5, hz: 20000000 })
    const driver = new Enc28j60(bus, deviceTiming, { mac: config.mac })
    const stack = new NetStack(config, new DsScheduler(), driver)
    const echo = new EchoServer(stack.sockets, { maxClients: config.tcpConnections - 1 })
    await stack.start()
    console.log("enc28j60 rev " + driver.revision + " up; " + formatIpv4(stack.iface.ip) + " echo:7")
    echo.start()
}

main.start()
