import ArgumentParser
import DBus
import PeerCollabAPI

#if canImport(Glibc)
import Glibc
#endif

/// The daemon as the command line sees it: calls, properties, and errors turned into
/// ``Failure``s (a message and an exit status).
struct DaemonClient {
    static let service = PeerCollabBus.serviceName
    static let root = try! DBusObjectPath(PeerCollabBus.rootPath)
    static let manager = PeerCollabBus.Interface.manager
    static let peer = PeerCollabBus.Interface.peer
    static let contact = PeerCollabBus.Interface.contact
    static let invitation = PeerCollabBus.Interface.invitation
    static let application = PeerCollabBus.Interface.application
    static let properties = "org.freedesktop.DBus.Properties"
    static let objectManager = "org.freedesktop.DBus.ObjectManager"

    let connection: DBusConnection

    init(options: GlobalOptions) throws {
        connection = try Self.connect(options.busAddress)
    }

    static func connect(_ address: String?) throws -> DBusConnection {
        do {
            return try DBusConnection(bus: address.map(DBusBusAddress.address) ?? .session)
        } catch let error as DBusError {
            throw Failure.unavailable(
                error.name,
                "Cannot reach the session bus: \(error.message)\nIs this a desktop session? Set DBUS_SESSION_BUS_ADDRESS or pass --bus.")
        }
    }

    /// All properties of one interface of one object.
    func properties(of interface: String, at path: DBusObjectPath = root) async throws -> [String: DBusValue] {
        let reply = try await call(path: path, interface: Self.properties, member: "GetAll", [.string(interface)])
        return reply.first?.vardictValue ?? [:]
    }

    func setProperty(_ name: String, _ value: DBusValue, of interface: String, at path: DBusObjectPath = root) async throws {
        _ = try await call(path: path, interface: Self.properties, member: "Set", [.string(interface), .string(name), .variant(value)])
    }

    /// Calls a method of the daemon; errors become ``Failure``s.
    func call(
        path: DBusObjectPath, interface: String, member: String, _ arguments: [DBusValue] = [],
        timeout: Duration = .seconds(25)
    ) async throws -> [DBusValue] {
        do {
            return try await connection.call(
                destination: Self.service, path: path, interface: interface, member: member, arguments: arguments,
                timeout: timeout)
        } catch let error as DBusError {
            throw Self.failure(error)
        }
    }

    /// Where to look when the daemon is not running: it may have stopped on an error, and
    /// starting it again would only repeat it.
    static let whyStopped = "See why it stopped: journalctl --user -u peercollab -n 20 (or systemctl --user status peercollab); "
        + "then start it with 'systemctl --user start peercollab', or install it first (see the README)."

    /// What a D-Bus error means for the person at the terminal.
    static func failure(_ error: DBusError) -> Failure {
        switch error.name {
        case DBusError.StandardName.serviceUnknown, DBusError.StandardName.nameHasNoOwner:
            return .unavailable(error.name, "peercollabd is not running and D-Bus could not start it.\n\(Self.whyStopped)")
        case let name where name.hasPrefix("org.freedesktop.DBus.Error.Spawn."):
            return .unavailable(error.name, "peercollabd could not be started: \(error.message)\n\(Self.whyStopped)")
        case DBusError.StandardName.noReply, DBusError.StandardName.timeout, DBusError.StandardName.timedOut,
            DBusError.StandardName.disconnected:
            return .unavailable(error.name, "peercollabd did not answer: \(error.message)")
        default:
            return .refused(error.name, error.message)
        }
    }

    // MARK: Output

    /// The Manager's properties in the Manager shape (docs/cli.md).
    func managerJSON() async throws -> String {
        ManagedObjects.json(Self.root, try await properties(of: Self.manager))
    }

    /// One object's properties in the shape of its kind.
    func objectJSON(_ path: DBusObjectPath, _ interface: String) async throws -> String {
        try await ManagedObjects.json(path, try await properties(of: interface, at: path), self)
    }
}

/// stderr as a `TextOutputStream`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var bytes = Array(string.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
            guard written > 0 else { return }
            offset += written
        }
    }
}
