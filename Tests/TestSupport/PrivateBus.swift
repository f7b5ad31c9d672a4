import DBus
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A `dbus-daemon` of one test's own, so that tests never see each other's names, objects or
/// signals, and a test's first call to a name not up yet can never start a program installed
/// on this machine (say, a `peercollabd` in `~/.local` with the real user's keys): the bus runs
/// from a configuration of its own whose only service folder is its own, empty one, never
/// from the host's `--session` configuration. The daemon ends with this object.
public final class PrivateBus: Sendable {
    /// What the bus lets its clients do.
    public enum Kind: Sendable {
        /// Like a session bus: one user, anything goes, the session bus's generous limits
        /// (messages of up to 1 GB, so that refusing a huge call is the receiver's doing).
        case session
        /// Like Debian's system bus as far as the tests need it: every user may connect, own
        /// names and send anything. Where another user (`nobody`) can try to forge logind's,
        /// NetworkManager's or Avahi's signals, and where an avahi-daemon runs in a lab.
        case system
    }

    /// The address to hand to `DBusConnection(bus: .address(...))`, `busctl --address=` or
    /// `--bus`.
    public let address: String
    /// The daemon's process id (0 for a bus someone else runs).
    public let pid: Int32
    /// The folder holding the configuration and the empty service folder.
    private let folder: URL?
    /// Whether ``stop()`` ran: a second SIGTERM could hit another process that got the pid.
    private let stopped = Mutex(false)

    /// Starts a bus and waits until it printed its address. `listen` is a D-Bus listen
    /// address (a socket of the test's choosing); `prefix` runs the daemon through another
    /// command (`ip netns exec NS`), so that it lives in a namespace of a lab.
    public init(_ kind: Kind = .session, listen: String = "unix:tmpdir=/tmp", prefix: [String] = []) throws {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("peercollab-test-bus-\(UUID().uuidString)", isDirectory: true)
        let services = folder.appendingPathComponent("services", isDirectory: true)
        try FileManager.default.createDirectory(at: services, withIntermediateDirectories: true)
        let config = folder.appendingPathComponent("bus.conf")
        do {
            try Self.configuration(kind, listen: listen, services: services.path)
                .write(to: config, atomically: true, encoding: .utf8)
            let command = prefix + ["/usr/bin/dbus-daemon", "--config-file=\(config.path)", "--fork", "--nopidfile", "--print-address=1", "--print-pid=1"]
            let output = try ProcessRunner.run(command[0], Array(command.dropFirst()), timeout: .seconds(20))
            let lines = output.standardOutput.split(separator: "\n").map(String.init)
            guard output.status == 0, lines.count >= 2, lines[0].hasPrefix("unix:"), let pid = Int32(lines[1]) else {
                throw TestFailure("dbus-daemon did not print its address and pid: \(output)")
            }
            address = lines[0]
            self.pid = pid
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
        self.folder = folder
    }

    /// ``init(_:listen:prefix:)`` from async code: the start happens on a thread of its own.
    public static func start(_ kind: Kind = .session) async throws -> PrivateBus {
        try await onOwnThread { try PrivateBus(kind) }
    }

    /// A bus someone else runs (a user manager's), which this object does not stop.
    public init(existing address: String) {
        self.address = address
        pid = 0
        folder = nil
    }

    /// Connects a new client to this bus (the blocking connect runs on a thread of its own).
    public func connect() async throws -> DBusConnection {
        let address = self.address
        return try await onOwnThread { try DBusConnection(bus: .address(address)) }
    }

    /// Ends the bus now (also what deinit does): its clients are disconnected. Never blocks;
    /// the daemon forked away from us, so there is nothing to reap.
    public func stop() {
        guard pid > 0, !stopped.withLock({ stopped in defer { stopped = true }; return stopped }) else { return }
        kill(pid, SIGTERM)
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }

    deinit { stop() }

    /// The session policy (or the shared system one), the listen address, and the one service
    /// folder, the bus's own.
    private static func configuration(_ kind: Kind, listen: String, services: String) -> String {
        let policy: String
        let limits: String
        switch kind {
        case .session:
            policy = """
                <allow send_destination="*" eavesdrop="true"/>
                    <allow eavesdrop="true"/>
                    <allow own="*"/>
                """
            // The session bus's limits (Debian's session.conf), which clients meet in real life.
            limits = [
                ("max_incoming_bytes", 1_000_000_000), ("max_incoming_unix_fds", 250_000_000),
                ("max_outgoing_bytes", 1_000_000_000), ("max_outgoing_unix_fds", 250_000_000),
                ("max_message_size", 1_000_000_000), ("service_start_timeout", 120_000), ("auth_timeout", 240_000),
                ("pending_fd_timeout", 150_000), ("max_completed_connections", 100_000),
                ("max_incomplete_connections", 10_000), ("max_connections_per_user", 100_000),
                ("max_pending_service_starts", 10_000), ("max_names_per_connection", 50_000),
                ("max_match_rules_per_connection", 50_000), ("max_replies_per_connection", 50_000),
            ].map { "  <limit name=\"\($0.0)\">\($0.1)</limit>" }.joined(separator: "\n")
        case .system:
            policy = """
                <allow user="*"/><allow own="*"/>
                    <allow send_type="method_call"/><allow send_type="signal"/>
                    <allow send_type="method_return"/><allow send_type="error"/>
                    <allow receive_type="method_call"/><allow receive_type="signal"/>
                    <allow receive_type="method_return"/><allow receive_type="error"/>
                """
            limits = ""
        }
        return """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>\(kind == .session ? "session" : "system")</type>
              <listen>\(listen)</listen>
              <auth>EXTERNAL</auth>
              <servicedir>\(services)</servicedir>
              <policy context="default">
                \(policy)
              </policy>
            \(limits)
            </busconfig>
            """
    }
}
