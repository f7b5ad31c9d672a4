@_spi(DaemonExecutors) @testable import DaemonRuntime
import Glibc
import Synchronization
import Testing

@Suite("Thread pool executor")
struct ThreadPoolExecutorTests {
    private static func threadName() -> String {
        var buffer = [CChar](repeating: 0, count: 32)
        let file = fopen("/proc/thread-self/comm", "r")
        defer { if let file { fclose(file) } }
        guard let file, fgets(&buffer, 32, file) != nil else { return "" }
        return String(cString: buffer).trimmingSuffixNewline()
    }

    @Test("tasks that prefer the pool run on its named threads, many at once")
    func runsOnPool() async {
        let pool = ThreadPoolExecutor(threadCount: 2, name: "testpool")
        let names = await withTaskGroup(of: String.self) { group in
            for _ in 0..<200 {
                group.addTask(executorPreference: pool) { Self.threadName() }
            }
            var names = Set<String>()
            for await name in group { names.insert(name) }
            return names
        }
        #expect(!names.isEmpty)
        #expect(names.isSubset(of: ["testpool-1", "testpool-2"]), "ran on \(names)")
    }

    @Test("signals are blocked on the pool's threads")
    func signalsBlocked() async {
        let pool = ThreadPoolExecutor(threadCount: 1, name: "sigpool")
        let blocked = await Task(executorPreference: pool) { () -> Bool in
            var mask = sigset_t()
            pthread_sigmask(SIG_BLOCK, nil, &mask)
            return sigismember(&mask, SIGTERM) == 1 && sigismember(&mask, SIGHUP) == 1
        }.value
        #expect(blocked)
    }
}

extension String {
    fileprivate func trimmingSuffixNewline() -> String {
        hasSuffix("\n") ? String(dropLast()) : self
    }
}
