import DBus
import PeerCollabAPI

/// The API's paths (``PeerCollabBus``) as the D-Bus library's types. Every id the daemon
/// makes an object for is a valid path element (peer names are `[a-z2-7]`, invitation ids
/// hex, application ids escaped); one that is not points at `/`, never at another object.
enum BusPaths {
    static let root = path(PeerCollabBus.rootPath)
    static let none = path(PeerCollabBus.noObject)

    static func peer(_ id: String) -> DBusObjectPath { path(PeerCollabBus.peerPath(id)) }
    static func contact(_ id: String) -> DBusObjectPath { path(PeerCollabBus.contactPath(id)) }
    static func invitation(_ id: String) -> DBusObjectPath { path(PeerCollabBus.invitationPath(id)) }
    static func application(_ id: String) -> DBusObjectPath { path(PeerCollabBus.applicationPath(id)) }

    /// Where a peer is shown to clients: its contact's object when there is one (an
    /// invitation's peer, the sender of InvitationReceived), else its Peer object.
    static func person(_ peerID: String, isContact: Bool) -> DBusObjectPath {
        isContact ? contact(peerID) : peer(peerID)
    }

    /// The peer id a Peer or Contact path names (both mean that peer), or nil.
    static func peerID(fromTarget target: DBusObjectPath) -> String? {
        guard let (kind, element) = PeerCollabBus.object(at: target.rawValue), kind == .peer || kind == .contact else { return nil }
        return element
    }

    private static func path(_ text: String) -> DBusObjectPath {
        (try? DBusObjectPath(text)) ?? .root
    }
}
