#if canImport(Glibc)
import Glibc
@_spi(ExperimentalCustomExecutors) import _Concurrency

/// The main executor of the daemon (the main actor, and the async `main` until its first hop):
/// the process's main thread running queued jobs, and sleeping on a condition variable with no
/// timeout when there are none. Replaces libdispatch's main queue, so that nothing in the
/// process starts libdispatch.
///
/// The main thread blocks every signal when it starts running jobs: signals are taken by
/// `SignalWatcher`, and threads created from here inherit the mask.
///
/// Sendable: all mutable state is in `state`, only touched with `lock` held.
@_spi(DaemonExecutors) public final class MainThreadExecutor: MainExecutor, @unchecked Sendable {
    private struct State {
        var jobs = JobQueue<UnownedJob>()
        var stopped = false
        var waiting = false
    }

    private let lock = ConditionLock()
    private nonisolated(unsafe) var state = State()
    /// The thread that called `run()`, once it has.
    private nonisolated(unsafe) var runningThread: pthread_t?

    public init() {}

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        lock.withLock {
            state.jobs.append(job)
            if state.waiting { lock.signal() }
        }
    }

    public func run() throws {
        try runUntil { false }
    }

    public func runUntil(_ condition: () -> Bool) throws {
        lock.withLock {
            runningThread = pthread_self()
            state.stopped = false
        }
        DaemonThread.blockAllSignals()
        let executor = asUnownedSerialExecutor()
        lock.lock()
        while !state.stopped, !condition() {
            if let job = state.jobs.popFirst() {
                lock.unlock()
                job.runSynchronously(on: executor)
                lock.lock()
            } else {
                state.waiting = true
                lock.wait()
                state.waiting = false
            }
        }
        lock.unlock()
    }

    public func stop() {
        lock.withLock {
            state.stopped = true
            lock.signal()
        }
    }

    public var isMainExecutor: Bool { true }

    public func checkIsolated() {
        let running = lock.withLock { runningThread }
        guard let running, pthread_equal(running, pthread_self()) != 0 else {
            fatalError("Expected to run on the main thread (MainThreadExecutor).")
        }
    }
}
#endif
