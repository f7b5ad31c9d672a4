/// Why a peer's bytes or behaviour broke the protocol; the session that meets one is closed.
public struct PeerProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of breach it is, for code that reacts differently to each.
    public enum Code: Hashable, Sendable {
        /// A frame announced a length above the configured maximum.
        case frameTooLarge
        /// A field ran past the end of its frame.
        case truncated
        /// Bytes that cannot be a valid message: a bad tag, a bad value, trailing bytes.
        case malformed
        /// A string field was not valid UTF-8.
        case invalidUTF8
        /// A count, a length or a number of requests went past a protocol limit.
        case limitExceeded
        /// A message that is not allowed in the session's current state.
        case unexpectedMessage
        /// The peer did not finish the hello in time.
        case helloTimeout
        /// Nothing came from the peer for longer than the idle timeout.
        case idleTimeout
        /// The two peers share no protocol version.
        case versionMismatch
        /// The receiver's bound on what all its sessions hold together was reached (partial
        /// frames); the session is closed, though this peer may have broken no rule.
        case overloaded
    }

    /// What kind of breach it is.
    public var code: Code
    /// Words for a log line: what was wrong and, where it helps, what to do.
    public var message: String

    /// Makes an error; prefer the static factories, which word the message consistently.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "peer protocol error (\(code)): \(message)" }

    /// A frame header announced `length` bytes, more than `maximum`.
    public static func frameTooLarge(length: Int, maximum: Int) -> Self {
        Self(code: .frameTooLarge, message: "frame of \(length) bytes exceeds the limit of \(maximum) bytes; closing the connection")
    }

    /// `field` needed more bytes than its frame holds.
    public static func truncated(_ field: String) -> Self {
        Self(code: .truncated, message: "\(field) runs past the end of its frame")
    }

    /// `field` holds a value the protocol does not allow.
    public static func malformed(_ field: String, _ reason: String) -> Self {
        Self(code: .malformed, message: "\(field) is malformed: \(reason)")
    }

    /// `field` is not valid UTF-8.
    public static func invalidUTF8(_ field: String) -> Self {
        Self(code: .invalidUTF8, message: "\(field) is not valid UTF-8")
    }

    /// `field` has `actual` units where at most `limit` are allowed.
    public static func limitExceeded(_ field: String, actual: Int, limit: Int) -> Self {
        Self(code: .limitExceeded, message: "\(field) is \(actual), above the limit of \(limit)")
    }

    /// `message` arrived or was sent when the session was `state`.
    public static func unexpectedMessage(_ message: String, state: String) -> Self {
        Self(code: .unexpectedMessage, message: "\(message) is not allowed while the session is \(state)")
    }

    /// The peer sent no valid hello within `seconds`.
    public static func helloTimeout(seconds: Int64) -> Self {
        Self(code: .helloTimeout, message: "the peer did not complete the handshake and hello within \(seconds) s; dropping it")
    }

    /// Nothing was received for `seconds`.
    public static func idleTimeout(seconds: Int64) -> Self {
        Self(code: .idleTimeout, message: "nothing received from the peer for \(seconds) s despite keepalives; dropping it")
    }

    /// A probe (after resume or a network change) got no answer within `milliseconds`.
    public static func probeTimeout(milliseconds: Int64) -> Self {
        Self(code: .idleTimeout, message: "the peer did not answer a check within \(milliseconds) ms; dropping it")
    }

    /// A partial frame of `waiting` bytes would take the bytes held for all sessions'
    /// partial frames (`inUse`) past `limit`.
    public static func partialFramesOverBudget(waiting: Int, inUse: Int, limit: Int) -> Self {
        Self(
            code: .overloaded,
            message: "partial frames of all sessions hold \(inUse) bytes, and this one's \(waiting) bytes would pass "
                + "the limit of \(limit) bytes; closing the connection")
    }

    /// The local range and the peer's range of protocol versions do not overlap.
    public static func versionMismatch(local: ClosedRange<UInt16>, remote: ClosedRange<UInt16>) -> Self {
        Self(
            code: .versionMismatch,
            message: "the peer speaks protocol versions \(remote.lowerBound)–\(remote.upperBound), "
                + "we speak \(local.lowerBound)–\(local.upperBound); one side needs an update"
        )
    }
}
