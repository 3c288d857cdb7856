// The socket layer's Scheduler on DeviceScript. There is no Promise constructor in the
// VM: a blocked caller is a suspended fiber (ds.suspend with a timeout), and wake()
// resumes it. Suspending also resets the VM's op watchdog.
import * as ds from "@devicescript/core"
import { Scheduler, Task, Waiter } from "../socket/scheduler"

/** @devsWhenUsed */
class DsWaiter implements Waiter {
    fiber: ds.Fiber = null
    /** A wake() that found nobody waiting; ends the next wait() at once. */
    pending = false

    async wait(timeoutMs: number): Promise<boolean> {
        if (this.pending) {
            this.pending = false
            return true
        }
        this.fiber = ds.Fiber.self()
        const v = await ds.suspend<number>(timeoutMs > 0 ? timeoutMs : 0)
        this.fiber = null
        return v !== undefined
    }

    wake(): void {
        const f = this.fiber
        if (f !== null && f.suspended) {
            this.fiber = null
            f.resume(1)
        } else {
            this.pending = true
        }
    }
}

async function runTask(task: Task, sched: DsScheduler): Promise<void> {
    try {
        await task.run()
    } catch (e) {
        sched.failures++
    }
}

/** @devsWhenUsed */
export class DsScheduler implements Scheduler {
    failures = 0

    nowMs(): number {
        return ds.millis()
    }

    async sleep(ms: number): Promise<void> {
        await ds.sleep(ms > 0 ? ms : 0)
    }

    createWaiter(): Waiter {
        return new DsWaiter()
    }

    spawn(task: Task): void {
        runTask.start(task, this)
    }

    taskFailures(): number {
        return this.failures
    }
}
