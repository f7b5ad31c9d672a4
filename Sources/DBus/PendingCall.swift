import CDBus
import Synchronization

/// One method call awaiting its reply: bridges libdbus's pending-call notification to a
/// Swift continuation, resumed exactly once (reply, timeout error, disconnect, or cancel).
///
/// The pending-call pointer is only used under `state`'s lock or after the call finished.
final class PendingCall: @unchecked Sendable {
    private let pending: OpaquePointer
    private let state = Mutex(State())

    private struct State {
        var continuation: CheckedContinuation<DBusMessage, any Error>?
        var finished = false
        var cancelled = false
        /// Why the call ended without a reply, when the connection ended it (see `fail`).
        var failure: (any Error)?
        /// Whether `complete` has claimed the reply; libdbus hands it out once only.
        var replyClaimed = false
    }

    init(_ pending: OpaquePointer) {
        self.pending = pending
    }

    deinit { dbus_pending_call_unref(pending) }

    func wait() async throws -> DBusMessage {
        try await withCheckedThrowingContinuation { continuation in
            let endedAlready = state.withLock { state -> (any Error)? in
                if state.cancelled { return CancellationError() }
                if let failure = state.failure { return failure }
                state.continuation = continuation
                return nil
            }
            if let endedAlready {
                continuation.resume(throwing: endedAlready)
                return
            }
            let retained = Unmanaged.passRetained(self).toOpaque()
            let installed = dbus_pending_call_set_notify(pending, pendingCallNotify, retained) {
                Unmanaged<PendingCall>.fromOpaque($0!).release()
            }
            if installed == 0 {
                Unmanaged<PendingCall>.fromOpaque(retained).release()
                finish(.failure(DBusError.noMemory()))
            }
            // The reply may have arrived before the notify function was in place.
            if dbus_pending_call_get_completed(pending) != 0 { complete() }
        }
    }

    func cancel() {
        let wasWaiting = state.withLock { state -> Bool in
            state.cancelled = true
            return state.continuation != nil && !state.finished
        }
        if wasWaiting {
            dbus_pending_call_cancel(pending)
            finish(.failure(CancellationError()))
        }
    }

    /// Ends the call with `error`, whether or not `wait` has begun. For calls the connection
    /// lost: libdbus drops its pending calls on disconnect without ever completing them.
    func fail(_ error: any Error) {
        state.withLock { state in
            if state.failure == nil { state.failure = error }
        }
        finish(.failure(error))
    }

    fileprivate func complete() {
        // Both the notify callback and `wait` (which checks for a reply that came before the
        // callback was set) can get here for one reply. A second steal_reply finds no reply,
        // and libdbus aborts the process on that.
        let first = state.withLock { state -> Bool in
            defer { state.replyClaimed = true }
            return !state.replyClaimed
        }
        guard first, let reply = dbus_pending_call_steal_reply(pending) else { return }
        finish(.success(DBusMessage(adopting: reply)))
    }

    private func finish(_ result: Result<DBusMessage, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<DBusMessage, any Error>? in
            guard !state.finished, let continuation = state.continuation else { return nil }
            state.finished = true
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
    }
}

private func pendingCallNotify(_ pending: OpaquePointer?, _ data: UnsafeMutableRawPointer?) {
    guard let data else { return }
    Unmanaged<PendingCall>.fromOpaque(data).takeUnretainedValue().complete()
}
