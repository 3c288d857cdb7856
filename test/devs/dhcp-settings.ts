// The firmware with settings IP=10.0.2.77 and DHCP=1, for test/vm-netns-dhcp.test.ts (not a
// suite of its own: test/run-all.mjs runs only *.devs.ts). With DHCP=1 the settings address is
// only DHCP's fallback: with a DHCP server on the link the firmware must take a lease, not .77.
// Like test/devs/static-settings.ts, it writes the settings into the VM's store first (`devs
// run --test` deploys no .env files), then starts the unchanged firmware.
import { writeSetting } from "@devicescript/settings"
import { startFirmware } from "../../src/hw/firmware"

async function main() {
    await writeSetting("IP", "10.0.2.77")
    await writeSetting("DHCP", 1)
    await startFirmware()
}

main.start()
