#if canImport(Glibc)
import Glibc

/// A mutex with two condition variables on `CLOCK_MONOTONIC`, for the executors' threads to
/// sleep on: `Synchronization.Mutex` has no condition variable, and a timed wait must not
/// follow the wall clock.
///
/// Sendable because every access to the pthread objects goes through the pthread calls, which
/// are thread-safe by contract; the pointers themselves never change after `init`.
final class ConditionLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    /// How many condition variables `conditions` holds.
    let conditionCount: Int

    init(conditions count: Int = 1) {
        precondition(count > 0)
        conditionCount = count
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        conditions = .allocate(capacity: count)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        for index in 0..<count { pthread_cond_init(conditions + index, &attributes) }
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        for index in 0..<conditionCount { pthread_cond_destroy(conditions + index) }
        conditions.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Wakes one thread waiting on condition `index`; call with the lock held.
    func signal(_ index: Int = 0) { pthread_cond_signal(conditions + index) }

    /// Sleeps on condition `index` until signalled (or spuriously); call with the lock held.
    func wait(_ index: Int = 0) { pthread_cond_wait(conditions + index, mutex) }

    /// Sleeps on condition `index` until signalled or `deadline` (nanoseconds of
    /// `CLOCK_MONOTONIC`) passes; call with the lock held.
    func wait(_ index: Int = 0, until deadline: UInt64) {
        var time = timespec(
            tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        _ = pthread_cond_timedwait(conditions + index, mutex, &time)
    }
}

/// Nanoseconds of `CLOCK_MONOTONIC`, the clock all deadlines are kept in.
func monotonicNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}
#endif
