import NIOCore

/// Why a peer ends the session; open-ended so that a newer peer's reasons still decode.
public struct GoodbyeReason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// The user signed out of the scope: others see them leave rather than time out.
    public static let signedOut = Self(rawValue: 0)
    /// The daemon is stopping.
    public static let shuttingDown = Self(rawValue: 1)
    /// The other side broke the protocol (the text says how).
    public static let protocolError = Self(rawValue: 2)
    /// No common protocol version.
    public static let versionMismatch = Self(rawValue: 3)
    /// The other side was too slow: hello or keepalive.
    public static let timeout = Self(rawValue: 4)
    /// The other side may not talk to this peer.
    public static let notAllowed = Self(rawValue: 5)
    /// Both peers dialled each other at once; this one of the two connections gives way.
    public static let duplicateConnection = Self(rawValue: 6)

    public var description: String {
        switch self {
        case .signedOut: "signedOut"
        case .shuttingDown: "shuttingDown"
        case .protocolError: "protocolError"
        case .versionMismatch: "versionMismatch"
        case .timeout: "timeout"
        case .notAllowed: "notAllowed"
        case .duplicateConnection: "duplicateConnection"
        default: "reason \(rawValue)"
        }
    }
}

/// The last message of a session: the sender closes after it.
public struct PeerGoodbye: Hashable, Sendable {
    /// Why.
    public var reason: GoodbyeReason
    /// Words for the other side's log, UTF-8, at most 256 bytes; may be empty.
    public var message: String

    /// Makes a goodbye.
    public init(reason: GoodbyeReason, message: String = "") {
        self.reason = reason
        self.message = message
    }
}

extension PeerGoodbye: WireBody {
    init(reading reader: inout WireReader) throws(PeerProtocolError) {
        let reason = GoodbyeReason(rawValue: try reader.readUInt16("goodbye reason"))
        let message = try reader.readString("goodbye message", maximumBytes: PeerProtocolLimits.goodbyeMessageMaximumBytes)
        self.init(reason: reason, message: message)
    }

    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError) {
        try WireRules.checkUTF8Length(message, field: "goodbye message", maximum: PeerProtocolLimits.goodbyeMessageMaximumBytes)
        buffer.writeInteger(reason.rawValue, endianness: .big)
        buffer.writeWireString(message)
    }
}
