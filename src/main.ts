// Firmware entry point (DeviceScript): everything is in src/hw/firmware.ts, so test and
// measurement programs can start the very same firmware.
import { startFirmware } from "./hw/firmware"

startFirmware.start()
