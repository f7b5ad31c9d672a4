/// One address and port where a peer listens for peercollab connections, as carried in a
/// contact card (`X-PEERCOLLAB-ENDPOINT:192.0.2.1:4000` or `X-PEERCOLLAB-ENDPOINT:[2001:db8::1]:4000`).
public struct ContactEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 address, an IPv6 address without brackets (optionally with a `%zone`), or a host name.
    public var host: String
    /// The TCP port, 1–65535.
    public var port: UInt16

    /// Makes an endpoint; `validate()` checks it.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// The card form: `host:port`, with an IPv6 host in brackets.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Reads the card form written by `description`.
    init(cardValue text: String, line: Int? = nil) throws(ContactCardError) {
        let field = ContactCard.endpointProperty
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"),
                text[text.index(after: close)...].hasPrefix(":")
            else {
                throw .invalidValue(field, line: line, "\"\(text)\" is not of the form [IPv6]:port")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard host.contains(":") else {
                throw .invalidValue(field, line: line, "\"\(text)\" has brackets around a host that is not an IPv6 address")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw .invalidValue(field, line: line, "\"\(text)\" has no port; write host:port")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else {
                throw .invalidValue(field, line: line, "\"\(text)\" is an IPv6 address without brackets; write [address]:port")
            }
        }
        guard (1...5).contains(portText.utf8.count), portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let port = UInt16(portText), port != 0
        else {
            throw .invalidValue(field, line: line, "\"\(text)\" has the port \"\(portText)\"; a port is a number from 1 to 65535")
        }
        self.init(host: String(host), port: port)
        try validate(line: line)
    }

    /// Checks the host's shape (not whether it resolves) and that the port is not 0.
    public func validate() throws(ContactCardError) {
        try validate(line: nil)
    }

    func validate(line: Int?) throws(ContactCardError) {
        let field = ContactCard.endpointProperty
        guard port != 0 else {
            throw .invalidValue(field, line: line, "\(self) has port 0; a port is a number from 1 to 65535")
        }
        let valid = host.contains(":") ? Self.isIPv6Shaped(host) : Self.isHostNameShaped(host)
        guard valid else {
            throw .invalidValue(field, line: line, "\"\(host)\" is neither an IP address nor a host name")
        }
    }

    /// Letters, digits, hyphens and dots in DNS-label shape; dotted IPv4 fits this too.
    static func isHostNameShaped(_ host: String) -> Bool {
        let bytes = Array(host.utf8)
        guard (1...253).contains(bytes.count) else { return false }
        return bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.count)
                && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
                && label.allSatisfy { $0.isASCIILetterOrDigit || $0 == UInt8(ascii: "-") }
        }
    }

    /// Hex groups separated by colons, at most one `::`, an optional dotted IPv4 tail and an
    /// optional `%zone`. Loose on purpose: the dialer parses the address for real.
    static func isIPv6Shaped(_ host: String) -> Bool {
        var address = Substring(host)
        if let percent = host.firstIndex(of: "%") {
            let zone = host[host.index(after: percent)...].utf8
            guard (1...32).contains(zone.count),
                zone.allSatisfy({ $0.isASCIILetterOrDigit || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") })
            else { return false }
            address = host[..<percent]
        }
        guard (2...45).contains(address.utf8.count) else { return false }
        let doubleColons = address.utf8.indices.filter { index in
            address.utf8[index] == UInt8(ascii: ":") && address.utf8.index(after: index) != address.utf8.endIndex
                && address.utf8[address.utf8.index(after: index)] == UInt8(ascii: ":")
        }
        guard doubleColons.count <= 1 else { return false }
        // A lone colon may not open or close the address; only "::" may.
        if address.hasPrefix(":") && !address.hasPrefix("::") { return false }
        if address.hasSuffix(":") && !address.hasSuffix("::") { return false }
        let groups = address.split(separator: ":", omittingEmptySubsequences: true)
        guard !groups.isEmpty || doubleColons.count == 1 else { return false }
        var count = 0
        for (position, group) in groups.enumerated() {
            if position == groups.count - 1, group.contains(".") {
                guard isHostNameShaped(String(group)), group.split(separator: ".").count == 4,
                    group.utf8.allSatisfy({ (0x30...0x39).contains($0) || $0 == UInt8(ascii: ".") })
                else { return false }
                count += 2
            } else {
                guard (1...4).contains(group.utf8.count), group.allSatisfy(\.isHexDigit) else { return false }
                count += 1
            }
        }
        return doubleColons.isEmpty ? count == 8 : count < 8
    }
}
