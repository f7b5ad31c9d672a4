import Foundation
import Synchronization

/// Runs blocking work (starting a daemon, a blocking connect, `waitpid`, a blocking `recv`)
/// on a thread of its own. Swift's concurrency pool has one thread per core (two here); a
/// test blocking one of them stalls every other test in the process, the daemons' and bus
/// handlers included, until calls time out.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// A thread-safe box: for a flag a task sets and a loop reads, or the values behind exported
/// properties.
public final class Store<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    public init(_ initial: Value) { value = Mutex(initial) }
    public func get() -> Value { value.withLock { $0 } }
    public func set(_ newValue: Value) { value.withLock { $0 = newValue } }
}
