import NIOCore

/// A named optional feature a peer announces in its hello, such as ``objects``.
///
/// Capabilities are open-ended strings (`[a-z0-9._-]`, 1–64 bytes): a peer ignores the
/// ones it does not know, so new features need no new protocol version.
public struct PeerCapability: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Sends and answers presence updates.
    public static let presence = Self(rawValue: "presence")
    /// Publishes and serves data objects.
    public static let objects = Self(rawValue: "objects")
    /// Sends and answers invitations.
    public static let invitations = Self(rawValue: "invitations")
    /// Says which TCP port it listens on (``PeerMessage/listeningPort(_:)``), so that the
    /// side it dialled shows where to reach it rather than its dialling socket's port.
    public static let listeningPort = Self(rawValue: "listening-port")
    /// Carries application channels: byte streams between the applications of an accepted
    /// invitation, with per-channel flow control (``ChannelOpen``).
    public static let channels = Self(rawValue: "channels")

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}

/// The first message each side sends, without waiting for the other's: which protocol
/// versions it speaks, which capabilities it has, which software it runs.
///
/// Both sides then use the highest version both speak (``PeerSessionParameters``).
public struct PeerHello: Hashable, Sendable {
    /// The protocol versions this peer speaks, lowest to highest; the lowest is at least 1.
    public var versions: ClosedRange<UInt16>
    /// The optional features this peer has.
    public var capabilities: Set<PeerCapability>
    /// The peer's software and version, for logs ("peercollab 0.1.0"), printable UTF-8, ≤ 64 bytes.
    public var softwareVersion: String

    /// Makes a hello.
    public init(versions: ClosedRange<UInt16>, capabilities: Set<PeerCapability>, softwareVersion: String) {
        self.versions = versions
        self.capabilities = capabilities
        self.softwareVersion = softwareVersion
    }
}

extension PeerHello: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        let lowest = try reader.readUInt16("lowest version")
        let highest = try reader.readUInt16("highest version")
        guard lowest >= 1, lowest <= highest else {
            throw .malformed("hello versions", "\(lowest)–\(highest) is not a range of versions from 1 up")
        }
        let count = try reader.readCount("capabilities", limit: PeerProtocolLimits.capabilitiesMaximumCount)
        var capabilities = Set<PeerCapability>()
        for _ in 0..<count {
            let name = try reader.readString("capability", maximumBytes: PeerProtocolLimits.capabilityMaximumBytes)
            try WireRules.checkCapability(name)
            guard capabilities.insert(PeerCapability(rawValue: name)).inserted else {
                throw .malformed("capabilities", "\"\(name)\" appears twice")
            }
        }
        let software = try reader.readString("software version", maximumBytes: PeerProtocolLimits.softwareVersionMaximumBytes)
        try WireRules.checkNoControlCharacters(software, field: "software version")
        self.init(versions: lowest...highest, capabilities: capabilities, softwareVersion: software)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        guard versions.lowerBound >= 1 else { throw .malformed("hello versions", "version 0 does not exist") }
        guard capabilities.count <= PeerProtocolLimits.capabilitiesMaximumCount else {
            throw .limitExceeded("capabilities count", actual: capabilities.count, limit: PeerProtocolLimits.capabilitiesMaximumCount)
        }
        for capability in capabilities { try WireRules.checkCapability(capability.rawValue) }
        try WireRules.checkUTF8Length(softwareVersion, field: "software version", maximum: PeerProtocolLimits.softwareVersionMaximumBytes)
        try WireRules.checkNoControlCharacters(softwareVersion, field: "software version")

        buffer.writeInteger(versions.lowerBound, endianness: .big)
        buffer.writeInteger(versions.upperBound, endianness: .big)
        // Sorted, so that the same hello always gives the same bytes.
        buffer.writeInteger(UInt16(capabilities.count), endianness: .big)
        for capability in capabilities.sorted() { buffer.writeWireString(capability.rawValue) }
        buffer.writeWireString(softwareVersion)
    }
}
