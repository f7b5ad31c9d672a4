import Collaboration
import DBus
import Discovery
import FoundationEssentials
import Logging
import PeerSecurity

/// The introspection data of the daemon's own interfaces, made from the same declarations
/// that serve them; `dbus/*.xml` is this output, and a test compares it with the live daemon.
enum Introspection {
    /// One document per interface, keyed by interface name.
    static func documents() throws -> [String: String] {
        // Declarations close over a Collaboration; this one lives in a scratch folder that is
        // removed again, so printing touches none of the user's files.
        let scratch = FileManager.default.temporaryDirectory.appending(path: "peercollab-introspection-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let collaboration = try Collaboration(
            store: SettingsStore(directory: scratch.appending(path: "config")),
            dataDirectory: scratch.appending(path: "data").path,
            identity: LocalIdentity(PeerIdentity.loadOrCreate(directory: scratch.appending(path: "data").path)),
            accountName: "nobody", logger: Logger(label: "introspection"))
        let interfaces = [
            ManagerObject(collaboration: collaboration, diagnose: { DiscoveryDiagnosis(backend: "none", checks: []) }).interface,
            PeerObject(id: "example", collaboration: collaboration).interface,
            ContactObject(id: "example", collaboration: collaboration).interface,
            InvitationObject(id: "example", collaboration: collaboration).interface,
            ApplicationObject(id: "org.example.App", collaboration: collaboration).interface,
        ]
        return Dictionary(uniqueKeysWithValues: interfaces.map { ($0.name, DBusIntrospection.document(for: [$0])) })
    }
}
