import PeerSecurity

/// `peercollab:PEERNAME@HOST:PORT`: how to reach someone when multicast cannot. The peer
/// name pins the key, so an address is all else it needs; whoever answers there must prove
/// that key.
public struct ContactLink: Sendable, Hashable, CustomStringConvertible {
    public static let scheme = "peercollab:"

    public let peerName: PeerName
    public let endpoint: ContactEndpoint

    public init(peerName: PeerName, endpoint: ContactEndpoint) {
        self.peerName = peerName
        self.endpoint = endpoint
    }

    /// Parses a link; throws `InvalidArgument` saying which part is wrong.
    public init(parsing text: String) throws {
        guard text.utf8.count <= 512 else {
            throw CollaborationError.invalidArgument("A contact link is at most 512 bytes long.")
        }
        guard text.lowercased().hasPrefix(Self.scheme) else {
            throw CollaborationError.invalidArgument(
                "'\(text)' is not a contact link: it must look like peercollab:PEERNAME@HOST:PORT.")
        }
        let rest = text.dropFirst(Self.scheme.count)
        guard let at = rest.firstIndex(of: "@") else {
            throw CollaborationError.invalidArgument("The contact link has no '@HOST:PORT' after the peer name.")
        }
        do {
            peerName = try PeerName(parsing: String(rest[..<at]))
        } catch {
            throw CollaborationError.invalidArgument("The contact link's peer name is wrong: \(error)")
        }
        let address = rest[rest.index(after: at)...]
        let host: Substring
        let portText: Substring
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]"), address[address.index(after: close)...].hasPrefix(":") else {
                throw CollaborationError.invalidArgument("An IPv6 address in a contact link is written [ADDRESS]:PORT.")
            }
            host = address[address.index(after: address.startIndex)..<close]
            portText = address[address.index(close, offsetBy: 2)...]
        } else {
            guard let colon = address.lastIndex(of: ":") else {
                throw CollaborationError.invalidArgument("The contact link has no port: it must end in :PORT.")
            }
            host = address[..<colon]
            portText = address[address.index(after: colon)...]
        }
        guard let port = UInt16(portText), port > 0 else {
            throw CollaborationError.invalidArgument("'\(portText)' is not a port number (1–65535).")
        }
        let endpoint = ContactEndpoint(host: String(host), port: port)
        do {
            try endpoint.validate()
        } catch {
            throw CollaborationError.invalidArgument("The contact link's address is wrong: \(error)")
        }
        self.endpoint = endpoint
    }

    public var description: String { Self.scheme + peerName.description + "@" + endpoint.description }
}
