import DBus
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A `dbus-daemon --session` of one test's own, so that tests running in parallel never see
/// each other's names, objects or signals. The daemon dies with this object.
final class PrivateBus: Sendable {
    /// The address to hand to `DBusConnection(bus: .address(...))` or `busctl --address=`.
    let address: String
    /// The daemon's process id, as it printed it.
    let pid: pid_t
    private let process: Mutex<Process?>

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts a daemon and waits (at most `timeout`) until it printed its address and pid.
    /// The waiting happens on a thread of its own (see ``onOwnThread(_:)``).
    static func start(timeout: Duration = .seconds(10)) async throws -> PrivateBus {
        try await onOwnThread { try PrivateBus(timeout: timeout) }
    }

    private init(timeout: Duration) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dbus-daemon")
        process.arguments = ["--session", "--nofork", "--print-address=1", "--print-pid=1"]
        // Not the service manager's notify socket: a test may be checking its own in the
        // process environment at this moment, and dbus-daemon would send it READY=1.
        process.environment = ProcessInfo.processInfo.environment.filter {
            !["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"].contains($0.key)
        }
        let output = Pipe()
        process.standardOutput = output
        // The daemon complains about fd limits it may not raise; that is noise, not failure.
        process.standardError = FileHandle.nullDevice
        try process.run()

        let lines: [String]
        do {
            lines = try Self.readLines(2, from: output.fileHandleForReading.fileDescriptor, timeout: timeout)
        } catch {
            Self.kill(process)
            throw error
        }
        guard lines[0].hasPrefix("unix:"), let pid = pid_t(lines[1]) else {
            Self.kill(process)
            throw StartError(description: "dbus-daemon printed \(lines), not an address and a pid")
        }
        address = lines[0]
        self.pid = pid
        self.process = Mutex(process)
    }

    deinit { stop() }

    /// Connects a new client to this bus (the blocking connect runs on a thread of its own).
    func connect() async throws -> DBusConnection {
        let address = self.address
        return try await onOwnThread { try DBusConnection(bus: .address(address)) }
    }

    /// Kills the daemon at once and removes its socket. Idempotent; never blocks (Foundation
    /// reaps the process when it has exited).
    func stop() {
        guard let process = process.withLock({ process in defer { process = nil }; return process }) else { return }
        Self.kill(process)
        if let path = socketPath { unlink(path) }
    }

    /// The socket file of a `unix:path=` address.
    private var socketPath: String? {
        guard address.hasPrefix("unix:path=") else { return nil }
        return String(address.dropFirst("unix:path=".count).prefix { $0 != "," })
    }

    /// SIGKILL, because SIGTERM does not work here: Foundation's Process spawns children with
    /// the spawning thread's signal mask, and Swift's pool threads block SIGTERM, so the
    /// daemon would never see it.
    private static func kill(_ process: Process) {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// Reads `count` newline-terminated lines from `fd`, giving up after `timeout`.
    private static func readLines(_ count: Int, from fd: Int32, timeout: Duration) throws -> [String] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var buffer: [UInt8] = []
        while buffer.filter({ $0 == UInt8(ascii: "\n") }).count < count {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else {
                throw StartError(description: "dbus-daemon did not print its address within \(timeout)")
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(remaining.components.seconds * 1000 + 1)
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 512)
            let got = read(fd, &chunk, chunk.count)
            guard got > 0 else {
                throw StartError(description: "dbus-daemon exited before printing its address")
            }
            buffer += chunk[0..<got]
        }
        return String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

/// A private bus with two clients: `server` exports objects, `client` calls them.
final class BusPair: Sendable {
    let bus: PrivateBus
    let server: DBusConnection
    let client: DBusConnection

    private init(bus: PrivateBus, server: DBusConnection, client: DBusConnection) {
        self.bus = bus
        self.server = server
        self.client = client
    }

    /// Starts a private bus and connects both clients to it.
    static func start() async throws -> BusPair {
        let bus = try await PrivateBus.start()
        return BusPair(bus: bus, server: try await bus.connect(), client: try await bus.connect())
    }

    deinit {
        client.close()
        server.close()
        bus.stop()
    }

    /// Calls `member` on the server's object at `path`.
    func call(
        _ path: DBusObjectPath, _ interface: String, _ member: String, _ arguments: [DBusValue] = [],
        timeout: Duration = .seconds(10)
    ) async throws -> [DBusValue] {
        try await client.call(
            destination: server.uniqueName, path: path, interface: interface, member: member,
            arguments: arguments, timeout: timeout)
    }
}

/// Runs blocking work (starting a daemon, a blocking connect) on a thread of its own. Swift's
/// concurrency pool has one thread per core (two here); a test blocking one of them stalls
/// every other test in the process, handlers included, until calls time out.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
