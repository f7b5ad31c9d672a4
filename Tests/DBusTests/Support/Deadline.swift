import DBus
import Synchronization

/// Thrown when something a test waits for did not happen in time; the test fails instead of hanging.
struct DeadlineExceeded: Error, CustomStringConvertible {
    var what: String
    var limit: Duration
    var description: String { "Gave up after \(limit) waiting for \(what)" }
}

/// Runs `body`, failing with ``DeadlineExceeded`` if it has not finished within `limit`.
/// `body` must react to cancellation (our calls, streams and waits do).
func withDeadline<T: Sendable>(
    _ limit: Duration = .seconds(10), _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw DeadlineExceeded(what: what, limit: limit)
        }
        return value
    }
}

/// The result of `task`, cancelling it if it has not finished within `limit` (awaiting a
/// task's result is not itself cancellable, so the deadline passes cancellation on).
func result<T: Sendable>(
    of task: Task<T, any Error>, within limit: Duration = .seconds(10), _ what: String
) async throws -> Result<T, any Error> {
    try await withDeadline(limit, what) {
        await withTaskCancellationHandler { await task.result } onCancel: { task.cancel() }
    }
}

extension AsyncStream where Element == DBusMessage {
    /// The next message for which `predicate` holds, skipping others; fails after `limit`.
    /// A stream whose wait timed out is finished (AsyncStream ends on cancellation).
    func next(
        within limit: Duration = .seconds(10), _ what: String,
        where predicate: @escaping @Sendable (DBusMessage) -> Bool = { _ in true }
    ) async throws -> DBusMessage {
        try await withDeadline(limit, what) {
            for await message in self where predicate(message) { return message }
            throw DeadlineExceeded(what: "\(what) (the stream ended)", limit: limit)
        }
    }
}

/// A one-shot gate handlers can wait on until the test opens it; lets a test hold calls in
/// the server for exactly as long as it needs, without sleeping. Any number may wait.
final class Gate: Sendable {
    private let state = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `open()` was called.
    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                if !state.isOpen { state.waiters.append(continuation) }
                return state.isOpen
            }
            if isOpen { continuation.resume() }
        }
    }
}

/// Values a handler reports to the test (e.g. "the call arrived"), read with a deadline.
final class Reports<Value: Sendable>: Sendable {
    let stream: AsyncStream<Value>
    private let continuation: AsyncStream<Value>.Continuation

    init() {
        (stream, continuation) = AsyncStream<Value>.makeStream()
    }

    func send(_ value: Value) { continuation.yield(value) }

    func next(within limit: Duration = .seconds(10), _ what: String) async throws -> Value {
        let stream = self.stream
        return try await withDeadline(limit, what) {
            for await value in stream { return value }
            throw DeadlineExceeded(what: "\(what) (the stream ended)", limit: limit)
        }
    }
}
