/// The value rules of the protocol's fields, applied alike when a message is encoded and decoded,
/// so that this peer never sends what another peer would reject.
enum WireRules {
    static func checkDisplayName(_ name: String) throws(PeerProtocolError) {
        let scalars = name.unicodeScalars.count
        guard scalars >= PeerProtocolLimits.displayNameMinimumScalars else {
            throw .malformed("display name", "it is empty")
        }
        guard scalars <= PeerProtocolLimits.displayNameMaximumScalars else {
            throw .limitExceeded("display name length in characters", actual: scalars, limit: PeerProtocolLimits.displayNameMaximumScalars)
        }
        try checkNoControlCharacters(name, field: "display name")
    }

    static func checkNoControlCharacters(_ string: String, field: String) throws(PeerProtocolError) {
        if let bad = string.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw .malformed(field, "it contains the control character U+\(String(bad.value, radix: 16, uppercase: true))")
        }
    }

    static func checkUTF8Length(_ string: String, field: String, maximum: Int) throws(PeerProtocolError) {
        let length = string.utf8.count
        guard length <= maximum else {
            throw .limitExceeded("\(field) length in bytes", actual: length, limit: maximum)
        }
    }

    /// `[A-Za-z0-9._-]`, 1 to 128 bytes.
    static func checkObjectID(_ id: String) throws(PeerProtocolError) {
        try checkToken(id, field: "object id", maximum: PeerProtocolLimits.objectIDMaximumBytes, allowDot: true)
    }

    /// `[A-Za-z0-9_-]`, 1 to 64 bytes: usable in a D-Bus object path after mapping `-`.
    static func checkInvitationID(_ id: String) throws(PeerProtocolError) {
        try checkToken(id, field: "invitation id", maximum: PeerProtocolLimits.invitationIDMaximumBytes, allowDot: false)
    }

    /// A channel name: 1 to 128 bytes of UTF-8 without control characters.
    static func checkChannelName(_ name: String) throws(PeerProtocolError) {
        guard !name.utf8.isEmpty else { throw .malformed("channel name", "it is empty") }
        try checkUTF8Length(name, field: "channel name", maximum: PeerProtocolLimits.channelNameMaximumBytes)
        try checkNoControlCharacters(name, field: "channel name")
    }

    /// A receive window: at most ``PeerProtocolLimits/channelWindowMaximumBytes``.
    static func checkChannelWindow(_ window: UInt32) throws(PeerProtocolError) {
        guard window <= PeerProtocolLimits.channelWindowMaximumBytes else {
            throw .limitExceeded("channel window in bytes", actual: Int(window), limit: PeerProtocolLimits.channelWindowMaximumBytes)
        }
    }

    /// `[a-z0-9._-]`, 1 to 64 bytes.
    static func checkCapability(_ name: String) throws(PeerProtocolError) {
        let bytes = name.utf8
        guard !bytes.isEmpty else { throw .malformed("capability", "it is empty") }
        try checkUTF8Length(name, field: "capability", maximum: PeerProtocolLimits.capabilityMaximumBytes)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            default:
                throw .malformed("capability", "only a-z, 0-9, '.', '_' and '-' are allowed")
            }
        }
    }

    /// Reverse-DNS in the manner of D-Bus well-known names: at least two dot-separated
    /// elements of `[A-Za-z0-9_-]`, none empty or starting with a digit, at most 255 bytes.
    static func checkApplicationID(_ id: String) throws(PeerProtocolError) {
        let field = "application id"
        try checkUTF8Length(id, field: field, maximum: PeerProtocolLimits.applicationIDMaximumBytes)
        var elements = 1
        var elementLength = 0
        for byte in id.utf8 {
            switch byte {
            case UInt8(ascii: "."):
                guard elementLength > 0 else { throw .malformed(field, "it has an empty element; use reverse-DNS like org.example.App") }
                elements += 1
                elementLength = 0
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard elementLength > 0 else { throw .malformed(field, "an element starts with a digit") }
                elementLength += 1
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "_"), UInt8(ascii: "-"):
                elementLength += 1
            default:
                throw .malformed(field, "only A-Z, a-z, 0-9, '_', '-' and '.' are allowed")
            }
        }
        guard elementLength > 0, elements >= 2 else {
            throw .malformed(field, "it must be reverse-DNS with at least two elements, like org.example.App")
        }
    }

    private static func checkToken(_ token: String, field: String, maximum: Int, allowDot: Bool) throws(PeerProtocolError) {
        guard !token.utf8.isEmpty else { throw .malformed(field, "it is empty") }
        try checkUTF8Length(token, field: field, maximum: maximum)
        for byte in token.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            case UInt8(ascii: ".") where allowDot:
                continue
            default:
                throw .malformed(field, allowDot ? "only A-Z, a-z, 0-9, '.', '_' and '-' are allowed" : "only A-Z, a-z, 0-9, '_' and '-' are allowed")
            }
        }
    }
}
