// The firmware with a static address from device settings, for test/vm-netns-static.test.ts
// (not a suite of its own: test/run-all.mjs runs only *.devs.ts). `devs run --test` deploys
// no .env settings, so this program first writes them into the VM's settings store, the one
// .env.defaults/.env.local values land in when a device is deployed, then starts the
// unchanged firmware, which reads them back as it would on a board.
import { writeSetting } from "@devicescript/settings"
import { startFirmware } from "../../src/hw/firmware"

async function main() {
    await writeSetting("IP", "10.0.2.77")
    await writeSetting("NETMASK", "255.255.255.0")
    await writeSetting("GATEWAY", "10.0.2.2")
    await startFirmware()
}

main.start()
