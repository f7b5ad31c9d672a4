/// Why a secure channel was refused or broken; the handler fires it through
/// the pipeline (`errorCaught`) and closes the channel.
public struct ChannelSecurityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, stable for callers to switch on.
    public enum Code: Sendable, Hashable {
        /// The TLS handshake failed (wrong version, alert, garbage, …); the message carries OpenSSL's reason.
        case handshakeFailed
        /// A certificate was refused for a reason other than its dates.
        case certificateRejected
        /// A certificate's validity has ended.
        case certificateExpired
        /// A certificate's validity has not begun.
        case certificateNotYetValid
        /// The peer presented no certificate.
        case noPeerCertificate
        /// The peer's key is not the one of the peer name expected.
        case peerMismatch
        /// The peer did not agree on the "peercollab/1" application protocol.
        case applicationProtocolMismatch
        /// The peer did not complete the handshake in time.
        case handshakeTimeout
        /// The connection ended before the handshake completed.
        case closedDuringHandshake
        /// The TLS layer failed after the handshake (bad record, alert).
        case connectionFailed
        /// OpenSSL could not set up the connection.
        case setupFailed
    }

    /// The kind of failure.
    public let code: Code
    /// What went wrong, including OpenSSL's reason where it gave one.
    public let message: String

    /// A failure of the given kind with its message.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
