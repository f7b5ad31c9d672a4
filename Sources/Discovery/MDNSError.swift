/// Why the built-in mDNS backend could not do what was asked, with what to do about it.
public struct MDNSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of failure.
    public enum Code: String, Hashable, Sendable {
        case socketFailed
        case noInterfaces
        case shutDown
    }

    public var code: Code
    public var message: String
    public var description: String { message }

    static func socketFailed(_ what: String, errno: Int32) -> Self {
        .init(code: .socketFailed, message: "Failed to \(what): \(String(cString: strerror(errno))) (errno \(errno)); check that nothing holds UDP port 5353 without SO_REUSEPORT and that multicast is allowed")
    }
    static let shutDown = Self(code: .shutDown, message: "The built-in mDNS backend was shut down; create a new one")
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
