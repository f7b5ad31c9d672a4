import DBus
import Foundation
import PeerCollabAPI

/// Every signal the daemon sends on one client connection, in the order it sent them, and
/// method calls whose replies carry their own serials: a daemon's messages are numbered as
/// it sends them, so `signal.serial < reply.serial` proves it signalled before it replied.
struct BusRecorder: Sendable {
    let client: DBusConnection
    let signals: AsyncStream<DBusMessage>

    static func start(_ client: DBusConnection) async throws -> BusRecorder {
        let signals = try await client.subscribe(
            to: DBusMatchRule(sender: PeerCollabBus.serviceName, pathNamespace: try DBusObjectPath(PeerCollabBus.rootPath)))
        return BusRecorder(client: client, signals: signals)
    }

    /// Calls a daemon method and returns its reply message (with its serial).
    func call(_ path: String, _ interface: String, _ member: String, _ arguments: [DBusValue] = []) async throws -> DBusMessage {
        let message = try DBusMessage.methodCall(
            destination: PeerCollabBus.serviceName, path: try DBusObjectPath(path), interface: interface, member: member)
        try message.append(arguments)
        return try await client.call(message)
    }

    /// Sets a property, returning the reply.
    func set(_ path: String, _ interface: String, _ name: String, _ value: DBusValue) async throws -> DBusMessage {
        try await call(path, "org.freedesktop.DBus.Properties", "Set", [.string(interface), .string(name), .variant(value)])
    }

    /// The next signal (bounded wait) that `predicate` accepts; the ones before it are gone.
    func next(_ what: String, within timeout: Duration = .seconds(20), where predicate: @escaping @Sendable (DBusMessage) -> Bool)
        async throws -> DBusMessage
    {
        try await firstElement(of: signals, within: timeout, what: what, where: predicate)
    }

    /// The very next signal, whatever it is.
    func next(_ what: String, within timeout: Duration = .seconds(20)) async throws -> DBusMessage {
        try await next(what, within: timeout) { _ in true }
    }
}

extension DBusMessage {
    /// `PropertiesChanged` of `interface`: the changed values by name.
    func changedProperties(of interface: String) -> [String: DBusValue]? {
        guard member == "PropertiesChanged", self.interface == "org.freedesktop.DBus.Properties" else { return nil }
        let arguments = arguments()
        guard arguments.count == 3, arguments[0].stringValue == interface else { return nil }
        return arguments[1].vardictValue
    }

    /// `InterfacesAdded`: the new object's path and its properties of `interface`.
    func addedObject(of interface: String) -> (path: String, properties: [String: DBusValue])? {
        guard member == "InterfacesAdded" else { return nil }
        let arguments = arguments()
        guard arguments.count == 2, let path = arguments[0].objectPathValue?.rawValue,
            case .dictionary(_, _, let interfaces) = arguments[1],
            let entry = interfaces.first(where: { $0.key.stringValue == interface })
        else { return nil }
        return (path, entry.value.vardictValue ?? [:])
    }
}
