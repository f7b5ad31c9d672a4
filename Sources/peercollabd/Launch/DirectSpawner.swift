#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Starts an application as a child of the daemon, for sessions without a systemd user manager:
/// in a session of its own (so it outlives neither more nor less than its own choice, and a
/// terminal's hangup does not reach it through us), stdin from /dev/null, no descriptor of the
/// daemon's, default signal handling. A detached thread waits for it so no zombie stays.
enum DirectSpawner {
    /// glibc's POSIX_SPAWN_SETSID, which the Glibc module does not import (it is `__USE_GNU`).
    private static let spawnSetSID: Int32 = 0x80

    /// Spawns `program` (an absolute path) with `arguments` (argv, argv[0] included) and exactly
    /// `environment`; returns its PID, or throws `startFailed` with the exec error.
    static func spawn(
        program: String, arguments: [String], environment: [String: String], workingDirectory: String?,
        applicationID: String, logger: Logger
    ) throws(LaunchError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let closeFrom = GNUSpawnActions.closeFrom {
            _ = closeFrom(&actions, 3)
        }
        if let workingDirectory, let changeDirectory = GNUSpawnActions.changeDirectory, isDirectory(workingDirectory) {
            _ = changeDirectory(&actions, workingDirectory)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The daemon's threads block every signal; the application must not inherit that.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | spawnSetSID))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        // glibc reports the child's exec failure as posix_spawn's result.
        let result = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw .startFailed("\(applicationID): \(program): \(String(cString: strerror(result)))")
        }
        startReaper(pid: pid, applicationID: applicationID, logger: logger)
        return pid
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    // MARK: Reaping

    /// A thread that waits for `pid`; if no thread can be made the child is still running, and
    /// becomes a zombie when it ends, which is logged rather than fatal.
    private static func startReaper(pid: pid_t, applicationID: String, logger: Logger) {
        let reaper = Reaper(pid: pid, applicationID: applicationID, logger: logger)
        let box = Unmanaged.passRetained(reaper).toOpaque()
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        pthread_attr_setstacksize(&attributes, 64 * 1024)
        // Signals stay with the daemon's SignalWatcher, as on every thread of the daemon.
        var all = sigset_t()
        var previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, &previous)
        let result = pthread_create(&thread, &attributes, { argument in
            Unmanaged<Reaper>.fromOpaque(argument!).takeRetainedValue().run()
            return nil
        }, box)
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        if result != 0 {
            Unmanaged<Reaper>.fromOpaque(box).release()
            logger.warning("Could not start a thread to wait for the application; it will stay a zombie when it ends", metadata: [
                "application": "\(applicationID)", "pid": "\(pid)", "error": "\(result)",
            ])
        }
    }

    private final class Reaper: Sendable {
        let pid: pid_t
        let applicationID: String
        let logger: Logger

        init(pid: pid_t, applicationID: String, logger: Logger) {
            self.pid = pid
            self.applicationID = applicationID
            self.logger = logger
        }

        func run() {
            var status: Int32 = 0
            var result: pid_t
            repeat {
                result = waitpid(pid, &status, 0)
            } while result < 0 && errno == EINTR
            // ECHILD: SIGCHLD is ignored somewhere and the kernel already reaped it.
            guard result == pid else { return }
            let exited = status & 0x7f == 0
            logger.debug("The application ended", metadata: [
                "application": "\(applicationID)", "pid": "\(pid)",
                exited ? "status" : "signal": "\(exited ? (status >> 8) & 0xff : status & 0x7f)",
            ])
        }
    }
}

/// glibc's GNU posix_spawn file actions, which the Glibc module does not import; looked up at
/// run time so a libc without them only loses the extra hygiene, not the launch.
private enum GNUSpawnActions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }
    static let changeDirectory: ChangeDirectory? = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: ChangeDirectory.self) }
}
