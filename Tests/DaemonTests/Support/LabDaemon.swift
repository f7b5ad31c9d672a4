import DBus
import Foundation

/// A daemon on one host of a ``NetworkLab``, with its own bus and a client connection to it.
final class LabDaemon: Sendable {
    let bus: PrivateBus
    let client: DBusConnection
    let daemon: DaemonProcess

    /// Starts it and signs it in to `scope` (nil: stays signed out).
    init(
        lab: NetworkLab, host: Int, home: URL? = nil, signIn scope: String? = "internet", discovery: String = "builtin",
        extraArguments: [String] = []
    ) async throws {
        bus = try PrivateBus()
        client = try DBusConnection(bus: .address(bus.address))
        daemon = try DaemonProcess(
            bus: bus, home: home,
            extraArguments: ["--port", "0", "--interfaces", "eth0", "--discovery", discovery] + extraArguments,
            prefix: lab.prefix(host))
        try await daemon.waitUntilServing(client)
        if let scope { try await managerCall("SignIn", [.string(scope)]) }
    }

    @discardableResult
    func managerCall(_ member: String, _ arguments: [DBusValue] = []) async throws -> [DBusValue] {
        try await client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: DaemonProcess.manager,
            member: member, arguments: arguments, timeout: .seconds(30))
    }

    func manager(_ name: String) async throws -> DBusValue {
        try await property(DaemonProcess.root, DaemonProcess.manager, name)
    }

    func property(_ path: DBusObjectPath, _ interface: String, _ name: String) async throws -> DBusValue {
        let reply = try await client.call(
            destination: DaemonProcess.service, path: path, interface: "org.freedesktop.DBus.Properties",
            member: "Get", arguments: [.string(interface), .string(name)])
        guard let value = reply.first?.variantValue else { throw TestFailure("no value for \(name)") }
        return value
    }

    var peerName: String { get async throws { try await manager("PeerName").stringValue ?? "" } }

    /// The port it listens on (from its Endpoints).
    var port: UInt16 {
        get async throws {
            guard let first = try await manager("Endpoints").arrayElements?.first?.structureFields,
                let port = first[1].uint16Value
            else { throw TestFailure("the daemon lists no endpoint") }
            return port
        }
    }

    /// Calls Manager.Connect and returns the peer object's path.
    func connect(_ link: String) async throws -> DBusObjectPath {
        let reply = try await client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: DaemonProcess.manager,
            member: "Connect", arguments: [.string(link)], timeout: .seconds(30))
        guard let path = reply.first?.objectPathValue else { throw TestFailure("Connect returned no path") }
        return path
    }

    /// The peer objects it exports now, with their Peer properties.
    func peers() async throws -> [DBusObjectPath: [String: DBusValue]] {
        let reply = try await client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root,
            interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
        guard case .dictionary(_, _, let entries)? = reply.first else { return [:] }
        var result: [DBusObjectPath: [String: DBusValue]] = [:]
        for entry in entries {
            guard let path = entry.key.objectPathValue, case .dictionary(_, _, let interfaces) = entry.value else { continue }
            for interface in interfaces where interface.key.stringValue == "org.peercollab.PeerCollab1.Peer" {
                result[path] = interface.value.vardictValue
            }
        }
        return result
    }

    /// Waits (bounded) until `condition` holds for its peer objects.
    func waitForPeers(
        _ what: String, timeout: Duration = .seconds(20),
        _ condition: ([DBusObjectPath: [String: DBusValue]]) -> Bool
    ) async throws -> [DBusObjectPath: [String: DBusValue]] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = try await peers()
            if condition(current) { return current }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("never happened within \(timeout): \(what)\n\(daemon.log)")
    }
}
