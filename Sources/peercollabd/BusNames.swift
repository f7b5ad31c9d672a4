import DBus

/// The names of DBUS-API.md, in one place.
enum BusNames {
    static let service = "org.peercollab.PeerCollab1"
    static let root: DBusObjectPath = "/org/peercollab/PeerCollab1"
    static let interfacePrefix = "org.peercollab.PeerCollab1."
    static let manager = interfacePrefix + "Manager"
    static let peer = interfacePrefix + "Peer"
    static let errorPrefix = "org.peercollab.PeerCollab1.Error."
    /// Where there is no object to point at.
    static let none: DBusObjectPath = "/"

    static func peerPath(_ id: String) -> DBusObjectPath {
        // Peer ids are peer names: [a-z2-7] only, always a valid path element.
        (try? root.appending("peer").appending(id)) ?? none
    }
}
