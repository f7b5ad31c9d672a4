import DBus
import Foundation
import TestSupport

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
