/// The one error type of the domain. Each code maps to one D-Bus error name (the daemon's
/// error table); the message says what was wrong in words a script's user understands.
public struct CollaborationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure, stable for callers to match on.
    public enum Code: Sendable, CaseIterable {
        case invalidArgument
        case notFound
        case alreadyExists
        case notSignedIn
        case notAllowed
        case invalidState
        case peerUnreachable
        /// The peer's software does not speak the feature asked for (its hello lacks it).
        case notSupported
        case timeout
        case invalidCard
        case rateLimited
        case failed
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
