import ArgumentParser
import DBus
import PeerCollabAPI

#if canImport(Glibc)
import Glibc
#endif

/// The daemon as the command line sees it: calls, properties, and errors turned into
/// messages and exit statuses.
struct DaemonClient {
    static let service = PeerCollabBus.serviceName
    static let root = try! DBusObjectPath(PeerCollabBus.rootPath)
    static let manager = PeerCollabBus.Interface.manager
    static let peer = PeerCollabBus.Interface.peer
    static let properties = "org.freedesktop.DBus.Properties"

    let connection: DBusConnection

    init(options: GlobalOptions) throws {
        do {
            connection = try DBusConnection(bus: options.busAddress.map(DBusBusAddress.address) ?? .session)
        } catch let error as DBusError {
            Self.fail("Cannot reach the session bus: \(error.message)\nIs this a desktop session? Set DBUS_SESSION_BUS_ADDRESS or pass --bus.")
            throw ExitStatus.unavailable
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

    /// Calls a method of the daemon; errors become a message on stderr and an exit status.
    func call(path: DBusObjectPath, interface: String, member: String, _ arguments: [DBusValue] = []) async throws
        -> [DBusValue]
    {
        do {
            return try await connection.call(
                destination: Self.service, path: path, interface: interface, member: member, arguments: arguments)
        } catch let error as DBusError {
            switch error.name {
            case DBusError.StandardName.serviceUnknown, DBusError.StandardName.nameHasNoOwner:
                Self.fail("peercollabd is not running and D-Bus could not start it.\nStart it with 'systemctl --user start peercollab', or install it first (see the README).")
                throw ExitStatus.unavailable
            case DBusError.StandardName.noReply, DBusError.StandardName.timeout, DBusError.StandardName.timedOut,
                DBusError.StandardName.disconnected:
                Self.fail("peercollabd did not answer: \(error.message)")
                throw ExitStatus.unavailable
            default:
                Self.fail(error.message)
                throw ExitStatus.refused
            }
        }
    }

    static func fail(_ message: String) {
        var standardError = StandardError()
        print("peercollabctl: \(message)", to: &standardError)
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
