/// A network interface the mDNS sockets may use, with its addresses.
public struct MDNSInterface: Sendable, Hashable {
    /// An address on the interface and the length of its network prefix.
    public struct Address: Sendable, Hashable {
        /// 4 bytes for IPv4, 16 for IPv6.
        public var bytes: [UInt8]
        public var prefixLength: Int

        public init(bytes: [UInt8], prefixLength: Int) {
            self.bytes = bytes
            self.prefixLength = prefixLength
        }

        public var family: MDNSFamily { bytes.count == 4 ? .ipv4 : .ipv6 }
        /// fe80::/10: link-local, needs `%interface` to be used.
        public var isLinkLocal: Bool { bytes.count == 16 && bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 }

        /// Whether `other` (same family) lies in this address's network.
        public func contains(_ other: [UInt8]) -> Bool {
            guard other.count == bytes.count else { return false }
            var remaining = prefixLength
            for (a, b) in zip(bytes, other) {
                guard remaining > 0 else { return true }
                let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
                if a & mask != b & mask { return false }
                remaining -= 8
            }
            return true
        }
    }

    public var index: Int32
    public var name: String
    public var addresses: [Address]
    public var isUp: Bool
    public var supportsMulticast: Bool
    public var isLoopback: Bool

    public init(index: Int32, name: String, addresses: [Address], isUp: Bool = true, supportsMulticast: Bool = true, isLoopback: Bool = false) {
        self.index = index
        self.name = name
        self.addresses = addresses
        self.isUp = isUp
        self.supportsMulticast = supportsMulticast
        self.isLoopback = isLoopback
    }

    public var ipv4Addresses: [Address] { addresses.filter { $0.family == .ipv4 } }
    public var ipv6Addresses: [Address] { addresses.filter { $0.family == .ipv6 } }

    /// RFC 6762 §11: a packet is only taken from a source on this link (an IPv6 link-local
    /// source always is; otherwise it must be inside one of the interface's networks).
    public func isOnLink(_ source: [UInt8]) -> Bool {
        if source.count == 16, source[0] == 0xFE, source[1] & 0xC0 == 0x80 { return true }
        return addresses.contains { $0.contains(source) }
    }

    /// Text form of an address (dotted quad, or RFC 5952 IPv6).
    public static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        guard bytes.count == 16 else { return bytes.map { String($0, radix: 16) }.joined(separator: ":") }
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        // The longest run (of at least two) of zero groups becomes "::".
        var bestStart = -1, bestLength = 0, start = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if start < 0 { start = index }
            } else if start >= 0 {
                if index - start > bestLength { bestStart = start; bestLength = index - start }
                start = -1
            }
        }
        func text(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
        guard bestLength >= 2 else { return text(0..<8) }
        return text(0..<bestStart) + "::" + text((bestStart + bestLength)..<8)
    }
}
