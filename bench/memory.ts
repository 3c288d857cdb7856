// Start-up buffer memory: NetStack.allocatedBytes (every allocBytes() the constructor made)
// for a config, and the difference one more connection slot makes. Buffers only: objects
// (control blocks, sockets) are not counted by allocBytes (see src/stack.ts for VM figures).

import { StackConfig } from "../src/config"
import { createLab } from "../test/helpers/lab"

export async function startupBytes(config: Partial<StackConfig>): Promise<number> {
    const lab = createLab()
    const d = lab.addDevice({ config })
    const n = d.stack.allocatedBytes
    await lab.stop()
    return n
}
