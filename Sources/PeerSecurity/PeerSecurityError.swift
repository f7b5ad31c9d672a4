/// Why an identity could not be loaded, created or parsed.
///
/// The message says what was wrong and, where a person can fix it, what to do.
public struct PeerSecurityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, stable for callers to switch on.
    public enum Code: Sendable, Hashable {
        /// The private key file can be read by group or others.
        case keyFileExposed
        /// The private key file belongs to another user.
        case keyFileNotOwned
        /// A file or folder could not be read or written.
        case fileSystem
        /// A key or certificate file does not hold what it should.
        case malformedFile
        /// A certificate is not a usable DER or PEM X.509 certificate.
        case invalidCertificate
        /// A text is not a well-formed peer name.
        case invalidPeerName
        /// OpenSSL refused an operation that should have worked.
        case openSSL
        /// The identity files now hold another key or certificate than the daemon started with.
        case identityChanged
    }

    /// The kind of failure.
    public let code: Code
    /// What went wrong, in words a user can act on.
    public let message: String

    /// A failure of the given kind with its message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static func keyFileExposed(path: String, mode: UInt32) -> Self {
        Self(code: .keyFileExposed, message: "The private key \(path) can be read or changed by other users (mode \(String(mode & 0o777, radix: 8))); refusing to use it. Run \"chmod 600 \(path)\" and try again.")
    }

    static func keyFileNotOwned(path: String, owner: UInt32, user: UInt32) -> Self {
        Self(code: .keyFileNotOwned, message: "The private key \(path) belongs to user \(owner), not to the current user \(user); refusing to use it. Run \"chown \(user) \(path) && chmod 600 \(path)\" or remove the file to make a new identity.")
    }

    static func fileSystem(_ action: String, path: String, errno code: Int32) -> Self {
        Self(code: .fileSystem, message: "Failed to \(action) \(path): \(String(cString: strerror(code))) (errno \(code)).")
    }

    static func malformedFile(path: String, reason: String) -> Self {
        Self(code: .malformedFile, message: "The file \(path) is not usable: \(reason). Move it away to make a new one.")
    }

    static func invalidCertificate(_ reason: String) -> Self {
        Self(code: .invalidCertificate, message: "Not a usable certificate: \(reason).")
    }

    static func invalidPeerName(_ text: String, reason: String) -> Self {
        Self(code: .invalidPeerName, message: "\"\(text.prefix(80))\" is not a peer name: \(reason).")
    }

    static func identityChanged(
        directory: String, started: (PeerName, Fingerprint), found: (PeerName, Fingerprint)
    ) -> Self {
        Self(code: .identityChanged, message: "The identity in \(directory) was replaced while peercollab ran: it started as peer name \(started.0), certificate \(started.1), and the files now hold peer name \(found.0), certificate \(found.1). Restart peercollab to use them (systemctl --user restart peercollab).")
    }

    static func openSSL(_ action: String) -> Self {
        Self(code: .openSSL, message: "Failed to \(action): \(OpenSSLSupport.drainErrors()).")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
