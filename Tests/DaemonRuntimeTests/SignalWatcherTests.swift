@testable import DaemonRuntime
import Glibc
import Synchronization
import Testing

@Suite("Signal watcher")
struct SignalWatcherTests {
    @Test("a signal sent to the watcher's thread reaches the handler")
    func deliversSignal() async throws {
        // SIGUSR2 is blocked here first, so that no other thread of the test process takes it
        // with the default action (terminate) before the watcher's thread does.
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let watcher = try SignalWatcher(signals: [SIGUSR2]) { signal in continuation.yield(signal) }
        defer { watcher.stop() }
        // A process-directed signal could be taken by any thread of the test runner that has it
        // unblocked; a thread-directed one to the watcher is what it must take in any case.
        let received = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await signal in stream { return signal }
                return nil
            }
            pthread_kill(watcher.thread, SIGUSR2)
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        #expect(received == SIGUSR2)
    }
}
