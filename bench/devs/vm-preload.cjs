// Preloaded (node --require) into the DeviceScript CLI for the VM cost bench
// (bench/vm-cost.ts). Two adjustments at the VM's door, none inside it, each switched on
// by an environment variable:
//
// VMCOST_NO_GC_STRESS=1: `devs run --test`, the CLI's only headless mode, turns on GC
//   stress (a full collection at every allocation) with no option to leave it off. It does
//   so through the WASM export jd_em_devs_enable_gc_stress; the export the CLI gets here
//   passes 0 instead. "vm-preload: gc stress off" on stderr says the call was intercepted
//   (another CLI version would not be silently measured wrong).
// VMCOST_CPU_CLOCK=1: the VM's clock (the em_time_now import, Date.now() in the CLI) reads
//   this process's CPU time instead, in fractional ms, so ds.millis() measures the VM's
//   own work and not the other processes sharing the machine. Time stands still while the
//   process waits, so a ds.sleep(n > 0) takes longer in wall time (the bench's timed
//   loops only yield with sleep(0)).
"use strict"
const noGcStress = process.env.VMCOST_NO_GC_STRESS === "1"
const cpuClock = process.env.VMCOST_CPU_CLOCK === "1"

function cpuMs() {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
}

const realInstantiate = WebAssembly.instantiate
WebAssembly.instantiate = function (binary, imports, ...rest) {
    if (cpuClock && imports && imports.env && typeof imports.env.em_time_now === "function") {
        // Starts at the wall clock, so the VM sees an ordinary epoch time.
        const base = Date.now() - cpuMs()
        imports.env.em_time_now = () => base + cpuMs()
        process.stderr.write("vm-preload: cpu clock\n")
    }
    return realInstantiate.call(this, binary, imports, ...rest).then((result) => {
        if (!noGcStress || !result || !result.instance) return result
        const real = result.instance.exports
        const enable = real.jd_em_devs_enable_gc_stress
        if (typeof enable !== "function") return result
        const exports = Object.assign({}, real)
        exports.jd_em_devs_enable_gc_stress = () => {
            process.stderr.write("vm-preload: gc stress off\n")
            return enable(0)
        }
        return { module: result.module, instance: { exports } }
    })
}
