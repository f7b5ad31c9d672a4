import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs programs for tests, with posix_spawn and waitpid rather than Foundation's `Process`,
/// whose `waitUntilExit` spins a run loop on the calling thread and can starve the small
/// cooperative thread pool that parallel tests share, and whose one reaping thread can wedge
/// when several children run.
public enum ProcessRunner {
    /// What a program did: its exit status (`128 + signal` when killed) and what it printed.
    public struct Output: Sendable, CustomStringConvertible {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
        public var description: String { "exit \(status)\nstdout:\n\(standardOutput)\nstderr:\n\(standardError)" }
    }

    /// Runs to completion (killed after `timeout`); a non-zero status is returned, not thrown.
    /// `environment` replaces the inherited one (see ``Subprocess/inheritedEnvironment``).
    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        input: String? = nil, timeout: Duration = .seconds(60)
    ) throws -> Output {
        let child = try Subprocess(executable, arguments, environment: environment, captureOutput: true)
        if let input { child.writeInput(input) }
        child.closeInput()
        let deadline = ContinuousClock.now + timeout
        let (out, err) = child.readOutputs(until: deadline)
        // Closing its output is not yet having exited: a child on its way out closes its files
        // before it becomes a zombie, and killing it then turns a success into status 137.
        while child.isRunning, ContinuousClock.now < deadline { usleep(1_000) }
        if child.isRunning { child.signal(SIGKILL) }
        let status = child.wait()
        return Output(status: status, standardOutput: out, standardError: err)
    }

    /// The same, from async code: the waiting happens on a thread of its own (``onOwnThread(_:)``).
    @discardableResult
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        input: String? = nil, timeout: Duration = .seconds(60)
    ) async throws -> Output {
        try await onOwnThread {
            try run(executable, arguments, environment: environment, input: input, timeout: timeout) as Output
        }
    }

    /// The folder of the built products (the test bundle lives there too).
    public static var productsDirectory: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = exe.deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("peercollabd").path) {
                return directory
            }
            directory = directory.deletingLastPathComponent()
        }
        return exe.deletingLastPathComponent()
    }

    /// The repository's top folder (this file is Tests/TestSupport/ProcessRunner.swift).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }
}

/// One child process. Its standard input is a pipe (``writeInput(_:)``); its output goes to
/// pipes (captured, read with ``readOutputs(until:)``) or to a file.
///
/// Sendable without `@unchecked`: the pipe ends live in one lock and the exit status in
/// another, so the reap happens exactly once, whichever thread asks.
public final class Subprocess: Sendable {
    public let pid: pid_t

    private struct Pipes {
        var stdinWrite: Int32 = -1
        var stdoutRead: Int32 = -1
        var stderrRead: Int32 = -1
    }

    private let pipes: Mutex<Pipes>
    private let exitStatus = Mutex<Int32?>(nil)

    /// The environment a child gets unless told otherwise: this process's, minus the service
    /// manager's sockets. A test that is checking its own notify socket has it in the process
    /// environment for a moment, and a dbus-daemon or systemd started meanwhile would send it
    /// READY=1.
    public static var inheritedEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"].contains($0.key) }
    }

    /// Starts `executable` (a path). `environment` replaces ``inheritedEnvironment``. With
    /// `captureOutput`, stdout and stderr go to pipes; else to `outputFile` (appended, both
    /// streams), or wherever this process's go.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        captureOutput: Bool, outputFile: String? = nil
    ) throws {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        var inPipe: [Int32] = [-1, -1]
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard Self.makePipe(&inPipe) else { throw TestFailure("pipe failed") }
        posix_spawn_file_actions_adddup2(&fileActions, inPipe[0], 0)
        if captureOutput {
            guard Self.makePipe(&outPipe), Self.makePipe(&errPipe) else { throw TestFailure("pipe failed") }
            posix_spawn_file_actions_adddup2(&fileActions, outPipe[1], 1)
            posix_spawn_file_actions_adddup2(&fileActions, errPipe[1], 2)
        } else if let outputFile {
            posix_spawn_file_actions_addopen(&fileActions, 1, outputFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = environment ?? Self.inheritedEnvironment
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A fresh signal mask and default dispositions: the test runner's threads block
        // SIGTERM, and a child that inherited that would never see it.
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &fileActions, &attributes, argv, envp)
        close(inPipe[0])
        if captureOutput {
            close(outPipe[1])
            close(errPipe[1])
        }
        guard result == 0 else {
            close(inPipe[1])
            if captureOutput {
                close(outPipe[0])
                close(errPipe[0])
            }
            throw TestFailure("Failed to start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
        pipes = Mutex(Pipes(stdinWrite: inPipe[1], stdoutRead: outPipe[0], stderrRead: errPipe[0]))
    }

    /// A pipe whose ends other children do not inherit (dup2 in the child clears the flag).
    private static func makePipe(_ ends: inout [Int32]) -> Bool {
        guard pipe(&ends) == 0 else { return false }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// Writes `text` to the child's standard input (all of it, unless the child closed it).
    public func writeInput(_ text: String) {
        pipes.withLock { pipes in
            var bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { write(pipes.stdinWrite, $0.baseAddress! + offset, $0.count - offset) }
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// Closes the child's standard input: it reads end of file.
    public func closeInput() {
        pipes.withLock { pipes in
            if pipes.stdinWrite >= 0 { close(pipes.stdinWrite) }
            pipes.stdinWrite = -1
        }
    }

    /// Reads stdout and stderr until both close or the deadline passes; closes them.
    public func readOutputs(until deadline: ContinuousClock.Instant) -> (String, String) {
        // Taken out of the lock for the (long) reading: nobody else may use them meanwhile.
        let (stdoutRead, stderrRead) = pipes.withLock { pipes in
            defer { (pipes.stdoutRead, pipes.stderrRead) = (-1, -1) }
            return (pipes.stdoutRead, pipes.stderrRead)
        }
        var out = [UInt8]()
        var err = [UInt8]()
        var open = [stdoutRead, stderrRead].filter { $0 >= 0 }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty, ContinuousClock.now < deadline {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), 50)
            if ready <= 0 { continue }
            for entry in fds where entry.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if count <= 0 {
                    open.removeAll { $0 == entry.fd }
                } else if entry.fd == stdoutRead {
                    out += buffer[0..<count]
                } else {
                    err += buffer[0..<count]
                }
            }
        }
        for fd in [stdoutRead, stderrRead] where fd >= 0 { close(fd) }
        return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// Reads stdout until what was read so far satisfies `done`, or the deadline passes;
    /// returns everything read (for programs that keep running, such as `watch`).
    public func readStandardOutput(until deadline: ContinuousClock.Instant, done: (String) -> Bool) -> String {
        let stdoutRead = pipes.withLock { pipes in
            defer { pipes.stdoutRead = -1 }
            return pipes.stdoutRead
        }
        var collected = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var open = stdoutRead >= 0
        while ContinuousClock.now < deadline, open {
            if done(String(decoding: collected, as: UTF8.self)) { break }
            var fds = [pollfd(fd: stdoutRead, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 50) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(stdoutRead, $0.baseAddress, $0.count) }
            if count <= 0 { open = false } else { collected += buffer[0..<count] }
        }
        // Back for the next read (also after end of file, as before: reads then return at once).
        pipes.withLock { $0.stdoutRead = stdoutRead }
        return String(decoding: collected, as: UTF8.self)
    }

    /// Whether the child still runs (reaps it when it has ended).
    public var isRunning: Bool {
        exitStatus.withLock { exitStatus in
            if exitStatus != nil { return false }
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                exitStatus = Self.decode(status)
                return false
            }
            return result == 0
        }
    }

    /// The exit status, once ended (`128 + signal` when killed).
    public var terminationStatus: Int32? {
        _ = isRunning
        return exitStatus.withLock { $0 }
    }

    /// Blocks until the child ends.
    public func wait() -> Int32 {
        exitStatus.withLock { exitStatus in
            if let exitStatus { return exitStatus }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let decoded = Self.decode(status)
            exitStatus = decoded
            return decoded
        }
    }

    /// Waits until the child ends, at most `timeout`; then SIGKILLs it and waits for that.
    public func wait(timeout: Duration) -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        if isRunning { signal(SIGKILL) }
        return wait()
    }

    public func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    deinit {
        closeInput()
        pipes.withLock { pipes in
            for fd in [pipes.stdoutRead, pipes.stderrRead] where fd >= 0 { close(fd) }
        }
        if isRunning {
            kill(pid, SIGKILL)
            _ = wait()
        }
    }
}
