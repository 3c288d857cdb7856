// Firmware entry point (DeviceScript). Issue 4 grows this into the full board bring-up.
import { internetChecksum } from "./util/checksum"
import { allocBytes } from "./util/bytes"

const b = allocBytes(4)
b[0] = 0x45
console.log("enc28j60-tcpip firmware: checksum self-check " + internetChecksum(b, 0, 4))
