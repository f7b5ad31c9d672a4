import DaemonRuntime
import Glibc
import Synchronization
import Testing

@Suite("Signal watcher")
struct SignalWatcherTests {
    @Test("a signal sent to the process reaches the handler, on the watcher's thread")
    func deliversSignal() async throws {
        // SIGUSR2 is blocked here first, so that no other thread of the test process takes it
        // with the default action (terminate) before the watcher's thread does.
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let watcher = try SignalWatcher(signals: [SIGUSR2]) { signal in continuation.yield(signal) }
        defer { watcher.stop() }
        var all = sigset_t()
        sigemptyset(&all)
        sigaddset(&all, SIGUSR2)
        // Every thread of the test runner would need the signal blocked for a process-directed
        // one; a thread-directed one to the watcher is what it must take in any case.
        let received = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await signal in stream { return signal }
                return nil
            }
            // The thread is named "signals"; find it in /proc and signal exactly it.
            let tid = Self.threadID(named: "signals")
            try #require(tid != nil)
            _ = syscall(Int(SYS_tgkill), getpid(), tid!, SIGUSR2)
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        #expect(received == SIGUSR2)
    }

    private static func threadID(named name: String) -> Int32? {
        guard let directory = opendir("/proc/self/task") else { return nil }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let tid = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            guard let id = Int32(tid), let file = fopen("/proc/self/task/\(tid)/comm", "r") else { continue }
            var buffer = [CChar](repeating: 0, count: 32)
            _ = fgets(&buffer, 32, file)
            fclose(file)
            if String(cString: buffer) == name + "\n" { return id }
        }
        return nil
    }
}
