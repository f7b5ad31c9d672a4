#if canImport(Glibc)
import Glibc
@_spi(ExperimentalCustomExecutors) @_spi(ExperimentalScheduling) import _Concurrency

/// The global concurrent executor of the daemon: a few threads of our own that run jobs and
/// keep the deadlines of `Task.sleep`, and that do nothing at all when there is nothing to do.
///
/// Swift's default executor on Linux is libdispatch, whose worker pool starts a 1 Hz timer the
/// first time it runs anything and never stops it; a daemon that must not wake when idle
/// cannot use it. Here an idle thread waits on a condition variable with no timeout. When jobs
/// are scheduled for later, exactly one thread (the *keeper*) waits with a timeout, until the
/// earliest deadline, and then runs the job itself: a `Task.sleep` costs one wake-up.
///
/// A pool thread that schedules a deadline while no thread keeps the timers does not wake
/// another one: it looks at the timers itself as soon as its job ends. Likewise a job that a
/// pool thread enqueues while nothing else waits to run is left for that same thread, which
/// takes it as soon as its current job ends; another thread is woken only when work piles up
/// (a second job waiting). That is what keeps a `Task.sleep` at one wake-up: the job that
/// ends the sleep resumes the sleeping task by enqueuing it, and waking an idle thread for it
/// would cost a second wake-up (and a handoff of the lock) for work the waking thread is
/// about to be free for. Jobs are short (a task runs until its next `await`), so this only
/// delays a job behind one that blocks, which the rule "never block a task" forbids anyway.
///
/// Deadlines are kept on `CLOCK_MONOTONIC`: a `ContinuousClock` sleep over a system suspend
/// ends late by the time spent suspended.
///
/// Sendable: all mutable state is in `state`, only touched with `lock` held.
@_spi(DaemonExecutors) public final class ThreadPoolExecutor: TaskExecutor, SchedulingExecutor, @unchecked Sendable {
    private struct State {
        var ready = JobQueue<UnownedJob>()
        var timers = TimerHeap<UnownedJob>()
        var idleThreads = 0
        var timerKept = false
    }

    private static let workCondition = 0
    private static let timerCondition = 1

    private let lock = ConditionLock(conditions: 2)
    private nonisolated(unsafe) var state = State()
    /// The number of threads, all started by `init`.
    public let threadCount: Int

    /// Starts `threadCount` threads named `name-1`, `name-2`, ….
    public init(threadCount: Int, name: String = "pool") {
        precondition(threadCount > 0, "A thread pool needs at least one thread.")
        self.threadCount = threadCount
        for index in 1...threadCount {
            do {
                try DaemonThread.start(name: "\(name)-\(index)") { [self] in self.work() }
            } catch {
                // Without its threads no task can run: there is nothing to fall back to.
                fatalError("\(error)")
            }
        }
    }

    /// The number of threads for this machine: the CPUs this process may use, at least 2 so
    /// that one blocked job does not stop everything, at most 4 since the daemon's work is small.
    public static var defaultThreadCount: Int {
        min(max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 2), 4)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let fromOwnThread = ThreadPoolMembership.isThread(of: self)
        lock.lock()
        state.ready.append(job)
        // From one of our threads, a lone job waits for that thread's current job to end.
        if !fromOwnThread || state.ready.count > 1 {
            if state.idleThreads > 0 {
                lock.signal(Self.workCondition)
            } else if state.timerKept {
                lock.signal(Self.timerCondition)
            }
        }
        lock.unlock()
    }

    public func enqueue<C: Clock>(
        _ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C
    ) {
        schedule(job, afterNanoseconds: Self.nanoseconds(delay))
    }

    public func enqueue<C: Clock>(
        _ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C
    ) {
        schedule(job, afterNanoseconds: Self.nanoseconds(clock.now.duration(to: instant)))
    }

    private func schedule(_ job: consuming ExecutorJob, afterNanoseconds delay: Int64) {
        let job = UnownedJob(job)
        let deadline = monotonicNanoseconds() &+ UInt64(max(delay, 0))
        lock.lock()
        let earliest = state.timers.insert(job, deadline: deadline)
        if earliest {
            if state.timerKept {
                lock.signal(Self.timerCondition)
            } else if state.idleThreads > 0, !ThreadPoolMembership.isThread(of: self) {
                lock.signal(Self.workCondition)
            }
        }
        lock.unlock()
    }

    /// The clocks that reach a global executor are `ContinuousClock` and `SuspendingClock`,
    /// both measured in `Duration`.
    private static func nanoseconds<D>(_ duration: D) -> Int64 {
        guard let duration = duration as? Duration else {
            fatalError("ThreadPoolExecutor: a clock measured in \(D.self), not Duration, cannot be scheduled.")
        }
        let (seconds, attoseconds) = duration.components
        let (nanoseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? 0 : Int64.max / 2 }
        return nanoseconds &+ attoseconds / 1_000_000_000
    }

    private func work() {
        ThreadPoolMembership.join(self)
        let executor = asUnownedTaskExecutor()
        lock.lock()
        while true {
            if let next = state.timers.nextDeadline, next <= monotonicNanoseconds() {
                let now = monotonicNanoseconds()
                while let due = state.timers.popDue(now: now) { state.ready.append(due) }
            }
            if let job = state.ready.popFirst() {
                if !state.ready.isEmpty, state.idleThreads > 0 { lock.signal(Self.workCondition) }
                lock.unlock()
                job.runSynchronously(on: executor)
                lock.lock()
                continue
            }
            if let next = state.timers.nextDeadline, !state.timerKept {
                state.timerKept = true
                lock.wait(Self.timerCondition, until: next)
                state.timerKept = false
            } else {
                state.idleThreads += 1
                lock.wait(Self.workCondition)
                state.idleThreads -= 1
            }
        }
    }
}

/// Which `ThreadPoolExecutor`, if any, the current thread belongs to: a job enqueued from a
/// pool's own thread can wait for that thread, one from any other thread cannot.
enum ThreadPoolMembership {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Marks the current thread as one of `pool`'s for the rest of its life (pool threads
    /// never leave their pool, and the pool outlives them).
    static func join(_ pool: ThreadPoolExecutor) {
        pthread_setspecific(key, Unmanaged.passUnretained(pool).toOpaque())
    }

    static func isThread(of pool: ThreadPoolExecutor) -> Bool {
        let member: UnsafeMutableRawPointer? = pthread_getspecific(key)
        return member == Unmanaged.passUnretained(pool).toOpaque()
    }
}
#endif
