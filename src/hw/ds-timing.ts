// Time for the driver and the pump on DeviceScript: millis() and sleep(), which also
// suspends the fiber and so resets the VM's 131,072-op watchdog.
import * as ds from "@devicescript/core"
import { PumpTiming } from "../iface/pump"

export const deviceTiming: PumpTiming = {
    nowMs: () => ds.millis(),
    delayMs: async (ms: number) => {
        await ds.sleep(ms)
    },
}
