import DBus

extension BusNames {
    static let invitation = interfacePrefix + "Invitation"
    static let application = interfacePrefix + "Application"

    /// Invitation ids are hex: always a valid path element.
    static func invitationPath(_ id: String) -> DBusObjectPath {
        (try? root.appending("invitation").appending(id)) ?? none
    }

    /// Application ids are reverse-DNS (`.` and `-` are not path characters): escaped as
    /// sd-bus does, every byte but `[A-Za-z0-9]` as `_xx`, so the path names one id only.
    static func applicationPath(_ id: String) -> DBusObjectPath {
        var element = ""
        for byte in id.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                element.append(Character(UnicodeScalar(byte)))
            default:
                let hex = String(byte, radix: 16)
                element += "_" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return (try? root.appending("application").appending(element)) ?? none
    }

    /// Where an invitation's peer is shown: the contact when there is one, else the peer.
    static func invitationPeerPath(_ peerID: String, isContact: Bool) -> DBusObjectPath {
        guard isContact else { return peerPath(peerID) }
        return (try? root.appending("contact").appending(peerID)) ?? none
    }

    /// The peer id a Peer or Contact path names (both mean that peer), or nil.
    static func peerID(fromTarget path: DBusObjectPath) -> String? {
        for kind in ["peer", "contact"] {
            let prefix = root.rawValue + "/" + kind + "/"
            if path.rawValue.hasPrefix(prefix) {
                let id = String(path.rawValue.dropFirst(prefix.count))
                return DBusObjectPath.isValidElement(id) ? id : nil
            }
        }
        return nil
    }
}
