import DBus
import Foundation

/// A private system bus that, like Debian's, lets every user connect and send signals: where
/// another user (`nobody`) can try to forge logind's, NetworkManager's or Avahi's signals.
/// It activates nothing (no service folders).
final class SharedSystemBus: Sendable {
    let address: String
    let pid: Int32

    init() throws {
        let output = try ProcessRunner.run(
            "/usr/bin/dbus-daemon", ["--config-file=\(Self.configFile)", "--fork", "--nopidfile", "--print-address=1", "--print-pid=1"])
        let lines = output.standardOutput.split(separator: "\n").map(String.init)
        guard lines.count >= 2, let pid = Int32(lines[1]) else {
            throw TestFailure("dbus-daemon did not print its address and pid: \(output.standardOutput) \(output.standardError)")
        }
        address = lines[0]
        self.pid = pid
    }

    deinit { kill(pid, SIGTERM) }

    static let configFile: String = {
        let path = NSTemporaryDirectory() + "peercollab-test-shared-system-\(getpid()).conf"
        let config = """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>system</type>
              <listen>unix:dir=/tmp</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/><allow own="*"/>
                <allow send_type="method_call"/><allow send_type="signal"/>
                <allow send_type="method_return"/><allow send_type="error"/>
                <allow receive_type="method_call"/><allow receive_type="signal"/>
                <allow receive_type="method_return"/><allow receive_type="error"/>
              </policy>
            </busconfig>
            """
        guard FileManager.default.createFile(atPath: path, contents: Data(config.utf8)) else {
            fatalError("cannot write the test bus configuration \(path)")
        }
        return path
    }()
}

/// Another user on a bus: sends signals as uid 65534 (`nobody`) with `gdbus`, straight to a
/// victim's connections (unicast, which no match rule stops), then pings each of them, so
/// that the victims have read the forged signals when `forge` returns.
enum Nobody {
    static let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    /// `signal` is `interface.Member`; `arguments` are GVariant texts (`"'text'"`, `"uint32 70"`).
    static func forge(
        on address: String, to destinations: [String], path: String, signal: String, _ arguments: [String]
    ) async throws {
        for destination in destinations {
            let emitted = try await ProcessRunner.run(
                asNobody[0], Array(asNobody.dropFirst()) + [
                    "/usr/bin/gdbus", "emit", "--address", address, "--dest", destination, "--object-path", path,
                    "--signal", signal,
                ] + arguments, timeout: .seconds(20))
            guard emitted.status == 0 else { throw TestFailure("gdbus emit as nobody failed: \(emitted.standardError)") }
            let pinged = try await ProcessRunner.run(
                asNobody[0], Array(asNobody.dropFirst()) + [
                    "/usr/bin/gdbus", "call", "--address", address, "--dest", destination, "--object-path", "/",
                    "--method", "org.freedesktop.DBus.Peer.Ping",
                ], timeout: .seconds(20))
            _ = pinged  // An error reply is a reply too: the victim has read what came before it.
        }
        let whoami = try await ProcessRunner.run(asNobody[0], Array(asNobody.dropFirst()) + ["/usr/bin/id", "-u"])
        guard whoami.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "65534" else {
            throw TestFailure("setpriv did not run as nobody: \(whoami.standardOutput) \(whoami.standardError)")
        }
    }

    /// The unique names on the bus at `address` whose process is `pid`: where a forger sends.
    static func connections(of pid: Int32, on connection: DBusConnection) async throws -> [String] {
        let names = try await connection.call(
            destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
            member: "ListNames").first?.stringArrayValue ?? []
        var found: [String] = []
        for name in names where name.hasPrefix(":") {
            let owner = try? await connection.call(
                destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
                member: "GetConnectionUnixProcessID", arguments: [.string(name)])
            if owner?.first?.uint32Value == UInt32(pid) { found.append(name) }
        }
        return found
    }
}
