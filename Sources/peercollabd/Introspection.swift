import Collaboration
import DBus
import FoundationEssentials
import Logging

/// The introspection data of the daemon's own interfaces, made from the same declarations
/// that serve them; `dbus/*.xml` is this output, and a test compares it with the live daemon.
enum Introspection {
    /// One document per interface, keyed by interface name.
    static func documents() throws -> [String: String] {
        // Declarations need a Collaboration to close over; one that reads a folder that does
        // not exist has the defaults and never touches the disk.
        let nowhere = FileManager.default.temporaryDirectory.appending(path: "peercollab-introspection-\(UInt64.random(in: 0...UInt64.max))")
        let collaboration = try Collaboration(
            store: SettingsStore(directory: nowhere), accountName: "nobody", logger: Logger(label: "introspection"))
        let interfaces = [ManagerObject(collaboration: collaboration).interface]
        return Dictionary(uniqueKeysWithValues: interfaces.map { ($0.name, DBusIntrospection.document(for: [$0])) })
    }
}
