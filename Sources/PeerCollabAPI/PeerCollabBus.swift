/// Where peercollab's D-Bus API lives (docs/dbus-api.md): the bus name, the object paths
/// and the interface names. The daemon, `peercollabctl` and the tests all spell them from
/// here, so a rename is one edit and a compile error wherever it matters.
public enum PeerCollabBus {
    /// The well-known name the daemon owns on the session bus.
    public static let serviceName = "org.peercollab.PeerCollab1"
    /// The root object: the Manager interface and the object manager of everything below.
    public static let rootPath = "/org/peercollab/PeerCollab1"
    /// What an object-path property holds when there is nothing to point at.
    public static let noObject = "/"
    /// The prefix of every named error the daemon returns (``PeerCollabErrorName``).
    public static let errorPrefix = "org.peercollab.PeerCollab1.Error."

    /// The interface names.
    public enum Interface {
        public static let manager = "org.peercollab.PeerCollab1.Manager"
        public static let peer = "org.peercollab.PeerCollab1.Peer"
        public static let contact = "org.peercollab.PeerCollab1.Contact"
        public static let invitation = "org.peercollab.PeerCollab1.Invitation"
        public static let application = "org.peercollab.PeerCollab1.Application"
    }

    /// The kinds of child object, each under its own folder of the root.
    public enum ObjectKind: String, CaseIterable, Sendable {
        case peer, contact, invitation, application

        /// The interface objects of this kind implement.
        public var interface: String {
            switch self {
            case .peer: Interface.peer
            case .contact: Interface.contact
            case .invitation: Interface.invitation
            case .application: Interface.application
            }
        }

        /// `/org/peercollab/PeerCollab1/KIND/`, the prefix of every such object's path.
        public var pathPrefix: String { rootPath + "/" + rawValue + "/" }
    }

    /// A peer's object: peer ids are peer names (`[a-z2-7]`), always a valid path element.
    public static func peerPath(_ id: String) -> String { ObjectKind.peer.pathPrefix + id }

    /// A contact's object: its id is its peer name, as for peers.
    public static func contactPath(_ id: String) -> String { ObjectKind.contact.pathPrefix + id }

    /// An invitation's object: invitation ids are hex.
    public static func invitationPath(_ id: String) -> String { ObjectKind.invitation.pathPrefix + id }

    /// An application's object. Application ids are reverse-DNS, and `.` and `-` are not
    /// path characters: every byte but `[A-Za-z0-9]` is escaped as `_xx`, as sd-bus does,
    /// so one path names one id only.
    public static func applicationPath(_ id: String) -> String {
        var element = ""
        for byte in id.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                element.unicodeScalars.append(UnicodeScalar(byte))
            default:
                element += "_" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return ObjectKind.application.pathPrefix + element
    }

    /// The object a path names: its kind and the id element after the kind's folder, or nil
    /// for any other path (the root, a deeper path, an empty element).
    public static func object(at path: String) -> (kind: ObjectKind, element: String)? {
        for kind in ObjectKind.allCases where path.hasPrefix(kind.pathPrefix) {
            let element = path.dropFirst(kind.pathPrefix.count)
            guard !element.isEmpty, !element.contains("/") else { return nil }
            return (kind, String(element))
        }
        return nil
    }
}
