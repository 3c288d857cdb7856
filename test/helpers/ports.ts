// Free ports on host loopback. Kept apart from interop.ts, which imports vitest (through
// netns.ts): bench/heap.ts runs outside vitest and needs this too.
import { createServer } from "node:net"

/** A free TCP port on host loopback (for passt's forward). */
export function freeTcpPort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = createServer()
        s.once("error", reject)
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as any).port
            s.close(() => resolve(port))
        })
    })
}
