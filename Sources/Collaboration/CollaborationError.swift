/// The one error type of the domain. Each code maps to one D-Bus error name (the daemon
/// keeps that table); the message says what was wrong in words a script's user understands.
public struct CollaborationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure, stable for callers to match on.
    public enum Code: String, Sendable, CaseIterable {
        case invalidArgument = "InvalidArgument"
        case notFound = "NotFound"
        case alreadyExists = "AlreadyExists"
        case notSignedIn = "NotSignedIn"
        case notAllowed = "NotAllowed"
        case invalidState = "InvalidState"
        case peerUnreachable = "PeerUnreachable"
        case timeout = "Timeout"
        case invalidCard = "InvalidCard"
        case rateLimited = "RateLimited"
        case failed = "Failed"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    public static func invalidArgument(_ message: String) -> Self { .init(.invalidArgument, message) }
    public static func notFound(_ message: String) -> Self { .init(.notFound, message) }
    public static func failed(_ message: String) -> Self { .init(.failed, message) }
}
