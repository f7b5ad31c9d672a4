import DBus

/// The names of DBUS-API.md, in one place.
enum BusNames {
    static let service = "org.peercollab.PeerCollab1"
    static let root: DBusObjectPath = "/org/peercollab/PeerCollab1"
    static let interfacePrefix = "org.peercollab.PeerCollab1."
    static let manager = interfacePrefix + "Manager"
    static let errorPrefix = "org.peercollab.PeerCollab1.Error."
}
