import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn, output to a file. Foundation's `Process`
/// can wedge its reaper thread on Linux when several children run, so the lab avoids it.
final class LabProcess: Sendable {
    let pid: pid_t
    let logPath: String

    /// Starts `arguments` (a path or a name looked up in PATH) with extra environment.
    init(_ arguments: [String], environment: [String: String] = [:], logPath: String) throws {
        // Not the service manager's notify socket, which another test may be checking.
        var env = ProcessInfo.processInfo.environment.filter {
            !["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"].contains($0.key)
        }
        env.merge(environment) { $1 }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The test runner's threads block signals; children must not inherit that, or
        // SIGTERM would not stop them.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let status = posix_spawnp(&child, arguments[0], &actions, &attributes, argv, envp)
        guard status == 0 else { throw LabError("cannot start \(arguments[0]): \(String(cString: strerror(status)))") }
        pid = child
        self.logPath = logPath
    }

    private let exitStatus = Mutex<Int32?>(nil)

    /// Whether it has not exited yet (reaps it when it has).
    var isRunning: Bool {
        if exitStatus.withLock({ $0 }) != nil { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid || result < 0 {
            exitStatus.withLock { $0 = status }
            return false
        }
        return true
    }

    func signal(_ number: Int32) { if isRunning { kill(pid, number) } }

    /// Waits for exit, up to `seconds`; kills it after that.
    func wait(seconds: Double) -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning {
            if Date() > deadline {
                kill(pid, SIGKILL)
                usleep(50_000)
                continue
            }
            usleep(10_000)
        }
        let status = exitStatus.withLock { $0 } ?? -1
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}
