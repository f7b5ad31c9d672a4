import COpenSSL
import NIOCore

/// A swift-nio handler that runs TLS 1.3 with OpenSSL over the channel:
/// ciphertext below it, plaintext `ByteBuffer`s above it.
///
/// OpenSSL reads and writes two memory BIOs instead of the socket: bytes the
/// channel reads are appended to the inbound BIO, and whatever OpenSSL leaves in
/// the outbound BIO is written to the channel. Nothing blocks, so one event loop
/// thread serves many connections.
///
/// After the handshake it checks the peer (a certificate was presented, ALPN
/// "peercollab/1" agreed, the key matches the expected ``PeerName`` if one was
/// given), then fires ``PeerAuthenticated`` as a user inbound event. Writes made
/// before that are held back. Any failure fires a ``ChannelSecurityError`` and
/// closes the channel; a peer silent for longer than the handshake timeout is
/// dropped.
///
/// On the client, TLS 1.3 completes the handshake when the client sends its
/// Finished message, before the server has judged the client's certificate;
/// a server that refuses us answers with an alert that arrives after
/// ``PeerAuthenticated`` and closes the channel with an error then. What the
/// client checked about the server is final at that event.
///
/// Not `Sendable`: the `SSL` object is not thread-safe, so the handler and its
/// `SSL` live on the channel's event loop and are touched only there (every
/// entry point is a channel handler method, or a task scheduled on that loop).
public final class ChannelSecurityHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Which side of the handshake this end plays.
    public enum Role: Sendable {
        /// Dials out and requires the peer to hold the key of `expecting`.
        case client(expecting: PeerName)
        /// Accepts a connection; with `expecting` set, only from that peer.
        case server(expecting: PeerName? = nil)
    }

    private enum State {
        case idle
        case handshaking
        case established(PeerAuthenticated)
        case closed
    }

    private let tlsContext: TLSContext
    private let role: Role
    private let handshakeTimeout: TimeAmount
    private let authentication: EventLoopPromise<PeerAuthenticated>?
    private var state = State.idle
    private var ssl: OpaquePointer?
    private var inboundCiphertext: OpaquePointer?
    private var outboundCiphertext: OpaquePointer?
    private let notes = HandshakeNotes()
    private var timeout: Scheduled<Void>?
    private var heldWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var heldFlush = false

    init(context: TLSContext, role: Role, handshakeTimeout: TimeAmount, authentication: EventLoopPromise<PeerAuthenticated>?) {
        self.tlsContext = context
        self.role = role
        self.handshakeTimeout = handshakeTimeout
        self.authentication = authentication
    }

    deinit {
        if let ssl { SSL_free(ssl) }
    }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startHandshake(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        failHeldWrites(ChannelError.ioOnClosedChannel)
        if case .established = state {} else {
            authentication?.fail(ChannelSecurityError(code: .closedDuringHandshake, message: "The secure channel was removed before the handshake completed."))
        }
        state = .closed
        releaseSSL()
    }

    public func channelActive(context: ChannelHandlerContext) {
        startHandshake(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        switch state {
        case .idle, .handshaking:
            fail(ChannelSecurityError(code: .closedDuringHandshake, message: "The connection closed before the TLS handshake completed; the peer refused us or is not a peercollab peer (\(OpenSSLSupport.drainErrors()))."), context: context)
        case .established, .closed:
            state = .closed
            failHeldWrites(ChannelError.ioOnClosedChannel)
        }
        context.fireChannelInactive()
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = unwrapInboundIn(data)
        guard let inboundCiphertext else { return }
        switch state {
        case .idle, .closed:
            return
        case .handshaking, .established:
            break
        }
        let accepted = ciphertext.withUnsafeReadableBytes { bytes in
            bytes.isEmpty ? 0 : BIO_write(inboundCiphertext, bytes.baseAddress, Int32(bytes.count))
        }
        guard accepted == ciphertext.readableBytes else {
            fail(ChannelSecurityError(code: .connectionFailed, message: "Failed to buffer received data: \(OpenSSLSupport.drainErrors())."), context: context)
            return
        }
        if case .handshaking = state {
            advanceHandshake(context: context)
        }
        if case .established = state {
            readPlaintext(context: context)
        }
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let plaintext = unwrapOutboundIn(data)
        switch state {
        case .idle, .handshaking:
            heldWrites.append((plaintext, promise))
        case .established:
            encrypt(plaintext, promise: promise, context: context)
        case .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        switch state {
        case .idle, .handshaking:
            heldFlush = true
        case .established, .closed:
            context.flush()
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if case .established = state, mode == .all, let ssl {
            // close_notify tells the peer the end is deliberate, not a truncation.
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            ERR_clear_error()
            writeCiphertext(context: context, promise: nil)
            context.flush()
            state = .closed
        }
        context.close(mode: mode, promise: promise)
    }

    // MARK: Handshake

    private func startHandshake(context: ChannelHandlerContext) {
        guard case .idle = state else { return }
        ERR_clear_error()
        guard let ssl = SSL_new(tlsContext.pointer),
            let inbound = BIO_new(BIO_s_mem()),
            let outbound = BIO_new(BIO_s_mem())
        else {
            fail(ChannelSecurityError(code: .setupFailed, message: "Failed to create the TLS connection: \(OpenSSLSupport.drainErrors())."), context: context)
            return
        }
        // An empty inbound BIO means "no data yet", not end of stream.
        _ = pc_BIO_set_mem_eof_return(inbound, -1)
        SSL_set_bio(ssl, inbound, outbound)  // the SSL now owns both BIOs
        // The notes outlive the SSL: the handler holds both and frees the SSL first.
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(notes).toOpaque())
        switch role {
        case .client: SSL_set_connect_state(ssl)
        case .server: SSL_set_accept_state(ssl)
        }
        self.ssl = ssl
        self.inboundCiphertext = inbound
        self.outboundCiphertext = outbound
        state = .handshaking

        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) { [self] in
            guard case .handshaking = self.state else { return }
            self.fail(ChannelSecurityError(code: .handshakeTimeout, message: "The peer did not complete the TLS handshake within \(self.handshakeTimeout.nanoseconds / 1_000_000) ms; dropped it."), context: context)
        }
        advanceHandshake(context: context)
    }

    private func advanceHandshake(context: ChannelHandlerContext) {
        guard let ssl else { return }
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            writeCiphertext(context: context, promise: nil)
            context.flush()
            completeHandshake(context: context, ssl: ssl)
            return
        }
        let status = SSL_get_error(ssl, result)
        if status == SSL_ERROR_WANT_READ || status == SSL_ERROR_WANT_WRITE {
            writeCiphertext(context: context, promise: nil)
            context.flush()
            return
        }
        fail(handshakeError(ssl: ssl, status: status), context: context)
    }

    private func completeHandshake(context: ChannelHandlerContext, ssl: OpaquePointer) {
        var protocolName: UnsafePointer<UInt8>?
        var protocolLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &protocolName, &protocolLength)
        let agreed = protocolName.map { Array(UnsafeBufferPointer(start: $0, count: Int(protocolLength))) } ?? []
        guard agreed == Array(TLSContext.applicationProtocol.utf8) else {
            fail(ChannelSecurityError(code: .applicationProtocolMismatch, message: "The peer did not agree on \(TLSContext.applicationProtocol) (ALPN); it is not a peercollab peer or speaks another version."), context: context)
            return
        }
        guard let peerCertificate = SSL_get0_peer_certificate(ssl) else {
            fail(ChannelSecurityError(code: .noPeerCertificate, message: "The peer presented no certificate; every peercollab peer must."), context: context)
            return
        }
        let certificate: PeerCertificate
        do {
            certificate = try PeerCertificate(certificate: peerCertificate)
        } catch {
            fail(ChannelSecurityError(code: .certificateRejected, message: "The peer's certificate cannot be read: \(error)."), context: context)
            return
        }
        let expected: PeerName?
        switch role {
        case .client(let name): expected = name
        case .server(let name): expected = name
        }
        if let expected, expected != certificate.peerName {
            fail(ChannelSecurityError(code: .peerMismatch, message: "Expected peer \(expected) but the other end holds the key of \(certificate.peerName); it is someone else, refusing it."), context: context)
            return
        }
        let event = PeerAuthenticated(certificate: certificate, localPublicKeyDER: tlsContext.localPublicKeyDER)
        state = .established(event)
        timeout?.cancel()
        timeout = nil
        context.fireUserInboundEventTriggered(event)
        authentication?.succeed(event)

        let held = heldWrites
        heldWrites = []
        for (plaintext, promise) in held {
            encrypt(plaintext, promise: promise, context: context)
        }
        if heldFlush {
            heldFlush = false
            context.flush()
        }
        // Application data may have arrived together with the last handshake message.
        readPlaintext(context: context)
    }

    /// Puts OpenSSL's view of a failed handshake into our words.
    private func handshakeError(ssl: OpaquePointer, status: Int32) -> ChannelSecurityError {
        let queue = OpenSSLSupport.drainErrorQueue()
        let reason = status == SSL_ERROR_SYSCALL && queue.codes.isEmpty ? "the connection broke" : queue.description
        if let rejection = notes.rejection {
            return ChannelSecurityError(code: rejection.code, message: "\(rejection.message) (OpenSSL: \(reason))")
        }
        return Self.classify(queue: queue, reason: reason, phase: "TLS handshake failed")
    }

    /// Maps OpenSSL reasons, including alerts the peer sent, to error codes.
    static func classify(queue: OpenSSLSupport.ErrorQueue, reason: String, phase: String) -> ChannelSecurityError {
        let table: [(Int32, ChannelSecurityError.Code, String)] = [
            (SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE, .noPeerCertificate, "the peer presented no certificate"),
            (SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED, .noPeerCertificate, "the peer wants our certificate and got none"),
            (SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, .certificateExpired, "the peer says our certificate has expired"),
            (SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL, .applicationProtocolMismatch, "the peer does not speak \(TLSContext.applicationProtocol)"),
            (SSL_R_NO_APPLICATION_PROTOCOL, .applicationProtocolMismatch, "no common application protocol"),
            (SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, .certificateRejected, "the peer refused our certificate"),
            (SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE, .certificateRejected, "the peer refused our certificate"),
            (SSL_R_TLSV1_ALERT_UNKNOWN_CA, .certificateRejected, "the peer refused our certificate"),
            (SSL_R_CERTIFICATE_VERIFY_FAILED, .certificateRejected, "the peer's certificate was refused"),
        ]
        for (openSSLReason, code, words) in table where queue.contains(reason: openSSLReason) {
            return ChannelSecurityError(code: code, message: "\(phase): \(words) (OpenSSL: \(reason)).")
        }
        return ChannelSecurityError(code: .handshakeFailed, message: "\(phase): \(reason).")
    }

    // MARK: Data

    private func readPlaintext(context: ChannelHandlerContext) {
        guard let ssl else { return }
        var delivered = false
        // Ends when OpenSSL has consumed what the inbound BIO holds (WANT_READ).
        while true {
            var buffer = context.channel.allocator.buffer(capacity: 16 * 1024)
            var result: Int32 = 0
            ERR_clear_error()
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { space in
                result = SSL_read(ssl, space.baseAddress, Int32(min(space.count, Int(Int32.max))))
                return max(0, Int(result))
            }
            if result > 0 {
                delivered = true
                context.fireChannelRead(wrapInboundOut(buffer))
                guard case .established = state else { return }  // a handler above may have closed us
                continue
            }
            let status = SSL_get_error(ssl, result)
            if status == SSL_ERROR_WANT_READ || status == SSL_ERROR_WANT_WRITE { break }
            if delivered { context.fireChannelReadComplete() }
            if status == SSL_ERROR_ZERO_RETURN {
                // The peer sent close_notify: a clean end.
                writeCiphertext(context: context, promise: nil)
                context.close(promise: nil)
            } else {
                let queue = OpenSSLSupport.drainErrorQueue()
                fail(Self.classify(queue: queue, reason: queue.description, phase: "The secure connection failed"), context: context)
            }
            return
        }
        // Reading may have produced output (a KeyUpdate reply, an alert).
        if let outboundCiphertext, BIO_ctrl_pending(outboundCiphertext) > 0 {
            writeCiphertext(context: context, promise: nil)
            context.flush()
        }
        if delivered { context.fireChannelReadComplete() }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        // Plaintext read completion is signalled by readPlaintext; the raw
        // completion only matters to handlers that see plaintext reads.
    }

    private func encrypt(_ plaintext: ByteBuffer, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        guard let ssl else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if plaintext.readableBytes == 0 {
            context.write(wrapOutboundOut(plaintext), promise: promise)
            return
        }
        ERR_clear_error()
        // With a memory BIO below, SSL_write takes the whole buffer in one call
        // (partial writes are off), splitting it into records itself.
        let result = plaintext.withUnsafeReadableBytes { bytes in
            SSL_write(ssl, bytes.baseAddress, Int32(bytes.count))
        }
        guard result == plaintext.readableBytes else {
            let error = ChannelSecurityError(code: .connectionFailed, message: "Failed to encrypt outgoing data: \(OpenSSLSupport.drainErrors()).")
            promise?.fail(error)
            fail(error, context: context)
            return
        }
        writeCiphertext(context: context, promise: promise)
    }

    /// Writes what OpenSSL left in the outbound BIO; the promise completes with that write.
    private func writeCiphertext(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard let outboundCiphertext else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let pending = Int(BIO_ctrl_pending(outboundCiphertext))
        guard pending > 0 else {
            promise?.succeed(())
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: pending)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { space in
            max(0, Int(BIO_read(outboundCiphertext, space.baseAddress, Int32(pending))))
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    // MARK: Failure

    private func fail(_ error: ChannelSecurityError, context: ChannelHandlerContext) {
        switch state {
        case .closed: return
        case .idle, .handshaking, .established: break
        }
        state = .closed
        timeout?.cancel()
        timeout = nil
        failHeldWrites(error)
        // Send the alert OpenSSL may have queued, so the peer learns why.
        writeCiphertext(context: context, promise: nil)
        context.flush()
        authentication?.fail(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func failHeldWrites(_ error: any Error) {
        let held = heldWrites
        heldWrites = []
        for (_, promise) in held { promise?.fail(error) }
    }

    private func releaseSSL() {
        if let ssl { SSL_free(ssl) }
        ssl = nil
        inboundCiphertext = nil
        outboundCiphertext = nil
    }
}

@available(*, unavailable)
extension ChannelSecurityHandler: Sendable {}
