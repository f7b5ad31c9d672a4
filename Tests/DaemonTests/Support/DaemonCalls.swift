import DBus
import TestSupport

/// The calls daemon tests make on their client connection: a property of one of the
/// daemon's objects, and a method of its Manager.
extension DBusConnection {
    /// `interface`'s property `name` on the daemon's object at `path`; throws when the reply
    /// carries no value.
    func daemonProperty(_ path: DBusObjectPath, _ interface: String, _ name: String) async throws -> DBusValue {
        let reply = try await call(
            destination: DaemonProcess.service, path: path, interface: "org.freedesktop.DBus.Properties",
            member: "Get", arguments: [.string(interface), .string(name)])
        guard let value = reply.first?.variantValue else { throw TestFailure("no value for \(name)") }
        return value
    }

    /// A property of the Manager.
    func managerProperty(_ name: String) async throws -> DBusValue {
        try await daemonProperty(DaemonProcess.root, DaemonProcess.manager, name)
    }

    /// Calls a method of the Manager.
    @discardableResult
    func managerCall(_ member: String, _ arguments: [DBusValue] = []) async throws -> [DBusValue] {
        try await call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: DaemonProcess.manager,
            member: member, arguments: arguments, timeout: .seconds(30))
    }
}
