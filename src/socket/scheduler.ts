// What the socket layer needs from the runtime to block a caller: the time, a sleep, a
// way to start a background task, and Waiters that a blocked call sleeps on until the
// TCP layer reports an event (or a timeout passes).
//
// The stack itself stays synchronous; only these calls suspend. Implementations:
//   src/hw/ds-scheduler.ts  DeviceScript (fibers: ds.suspend / Fiber.resume)
//   sim/scheduler.ts        Node, in real time or in virtual time (deterministic tests)

/** One sleeping caller at a time. Create waiters at start-up only: their number is the bound. */
export interface Waiter {
    /**
     * Sleeps until wake() or until timeoutMs (>= 0) passed: true = woken, false = timed out.
     * A wake() that came while nobody waited is kept and ends the next wait() at once
     * (so a wake between "nothing to do" and wait() is never lost); callers re-check
     * their condition after every return, so an early wake is harmless.
     */
    wait(timeoutMs: number): Promise<boolean>
    /** Ends the current (or next) wait() with true. */
    wake(): void
}

/** A background task (the pump, an app's worker). */
export interface Task {
    run(): Promise<void>
}

export interface Scheduler {
    /** Milliseconds since an arbitrary origin; never decreases. */
    nowMs(): number
    /** Suspends the caller for ms (0 = just yield to other tasks). */
    sleep(ms: number): Promise<void>
    createWaiter(): Waiter
    /**
     * Runs task.run() in the background (a new fiber on DeviceScript, where calling an
     * async function without await does not compile). A failure of the task is counted in
     * taskFailures() and otherwise ignored: tasks catch what they can handle.
     */
    spawn(task: Task): void
    taskFailures(): number
}
