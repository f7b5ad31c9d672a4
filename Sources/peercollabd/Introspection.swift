import DBus

/// The introspection data of the daemon's own interfaces, made from the same tables that
/// serve them; `dbus/*.xml` is this output, and a test compares it with the live daemon.
/// It needs no domain: the tables are static.
enum Introspection {
    /// One document per interface, keyed by interface name.
    static func documents() -> [String: String] {
        let interfaces = [
            ManagerKind.declaration, PeerKind.declaration, ContactKind.declaration, InvitationKind.declaration,
            ApplicationKind.declaration,
        ]
        return Dictionary(uniqueKeysWithValues: interfaces.map { ($0.name, DBusIntrospection.document(for: [$0])) })
    }
}
