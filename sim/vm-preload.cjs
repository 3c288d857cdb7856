// Preloaded (node --require) into the DeviceScript CLI process that runs the firmware in the
// WASM VM (sim/vm-runner.ts). Two adjustments at the VM's door to the host, none inside it:
//
// 1. Where the bridge is. The firmware dials 127.0.0.1:BRIDGE_PORT (src/hw/bridge-spi-bus.ts);
//    this redirects that one address to ENC28J60_BRIDGE_PORT, the host bridge's ephemeral port,
//    so simulators can run side by side. The VM's socket also gets TCP_NODELAY.
// 2. When the VM runs. The CLI steps the VM from a setTimeout (its `process2`, re-armed with
//    the time to the next VM timer, up to 10 ms) and does not step it when socket data
//    arrives, so every SPI round trip would wait for a timer tick. Here a data event steps
//    the VM at once, as an SPI DMA completion would on the ESP32. If the CLI's timer cannot
//    be found (another CLI version), nothing breaks: round trips just take a tick.
"use strict"
const net = require("node:net")

const wellKnown = Number(process.env.ENC28J60_BRIDGE_WELL_KNOWN)
const actual = Number(process.env.ENC28J60_BRIDGE_PORT)

const realSetTimeout = global.setTimeout
const realClearTimeout = global.clearTimeout
const realClearInterval = global.clearInterval
/** The VM's pending step: { fn, handle, done }. */
let step = null

global.setTimeout = function (fn, ms, ...args) {
    if (typeof fn === "function" && fn.name === "process2") {
        const s = { fn, handle: null, done: false }
        s.handle = realSetTimeout(() => {
            s.done = true
            fn()
        }, ms)
        step = s
        return s.handle
    }
    return realSetTimeout(fn, ms, ...args)
}
function forget(handle) {
    if (step !== null && step.handle === handle) step.done = true
}
global.clearTimeout = function (handle) {
    forget(handle)
    return realClearTimeout(handle)
}
global.clearInterval = function (handle) {
    forget(handle)
    return realClearInterval(handle)
}

let kickQueued = false
function kick() {
    kickQueued = false
    const s = step
    if (s === null || s.done) return
    s.done = true
    realClearTimeout(s.handle)
    s.fn()
}

const realCreateConnection = net.createConnection
net.createConnection = function (...args) {
    const o = args[0]
    const redirect = o !== null && typeof o === "object" && o.host === "127.0.0.1" && o.port === wellKnown && actual > 0
    if (redirect) args[0] = { ...o, port: actual }
    const sock = realCreateConnection.apply(this, args)
    if (redirect) {
        sock.setNoDelay(true)
        // After the CLI's own data listener has handed the bytes to the VM.
        sock.on("data", () => {
            if (!kickQueued) {
                kickQueued = true
                setImmediate(kick)
            }
        })
    }
    return sock
}
