import DBus
import TestSupport

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
