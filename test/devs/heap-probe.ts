// Free heap of the running firmware, measured by ballast; bench/heap.ts drives it (not a
// suite: test/run-all.mjs runs only *.devs.ts, and this program ends in an OutOfMemory panic
// on purpose). DeviceScript has no call that reports heap use, so: start the unchanged
// firmware, wait until the host has it under load (echo and discard streaming, the status
// page served), then allocate BALLAST-byte buffers, keeping every one, and print the running
// total after each until the VM panics. The last total printed is the heap that was free at
// that load. `devs run --test` collects all garbage at every allocation (GC stress), so the
// figure is after full collections.
import * as ds from "@devicescript/core"
import { startFirmware } from "../../src/hw/firmware"

const BALLAST = 256

async function main() {
    const status = await startFirmware()
    while (status.served < 1) await ds.sleep(50)
    console.log("heap probe: under load, ballast of " + BALLAST + " B buffers starts")
    const keep: Buffer[] = []
    let total = 0
    for (;;) {
        keep.push(Buffer.alloc(BALLAST))
        total += BALLAST
        console.log("ballast " + total + " B held")
        await ds.sleep(50) // the firmware keeps serving while the heap fills (a few seconds of it)
    }
}

main.start()
