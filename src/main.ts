// Firmware entry point (DeviceScript): bring up the ENC28J60 and the stack, then pump
// frames forever. Pins and addresses are the defaults of an ESP32 DevKit wired as in
// the README; board files and DHCP come with the firmware issue.
import { Esp32SpiBus } from "./hw/esp32-spi-bus"
import { deviceTiming } from "./hw/ds-timing"
import { Enc28j60 } from "./driver/enc28j60/enc28j60"
import { Interface } from "./iface/interface"
import { NetPump } from "./iface/pump"
import { DEFAULT_CONFIG } from "./config"
import { formatIpv4 } from "./wire/ipv4"

async function main() {
    const config = DEFAULT_CONFIG
    const bus = new Esp32SpiBus({ sck: 18, mosi: 23, miso: 19, cs: 5, hz: 20000000 })
    const driver = new Enc28j60(bus, deviceTiming, { mac: config.mac })
    const iface = new Interface(config)
    const pump = new NetPump(driver, iface, deviceTiming)
    await driver.init()
    iface.announce()
    console.log("enc28j60 rev " + driver.revision + " up; address " + formatIpv4(iface.ip))
    await pump.run()
}

main.start()
