import COpenSSL

/// The OpenSSL `SSL_CTX` every channel of one identity is made from: TLS 1.3
/// only, our certificate and key, both certificates required, self-signed leaf
/// accepted with the dates checked here, ALPN "peercollab/1" required, no
/// session tickets or cache (every connection proves its key afresh).
///
/// `@unchecked Sendable` is safe because the `SSL_CTX` is fully configured in
/// `init` and never changed afterwards; from then on it is only passed to
/// `SSL_new`, which openssl-threads(7) allows from several threads at once on a
/// shared, unmodified `SSL_CTX` (its reference count and internal caches are
/// locked). Each `SSL` made from it is confined to one channel's event loop.
/// The callbacks installed here keep no state of their own: what they learn
/// goes to the `HandshakeNotes` of the `SSL` they are called for.
final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer
    /// DER SubjectPublicKeyInfo of our key, for verification codes.
    let localPublicKeyDER: [UInt8]

    static let applicationProtocol = "peercollab/1"
    /// The ALPN wire form: one length byte, then the name.
    static let applicationProtocolWire: [UInt8] = [UInt8(applicationProtocol.utf8.count)] + Array(applicationProtocol.utf8)

    init(identity: PeerIdentity) throws {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_method()) else { throw Self.setupError("create the TLS context") }
        pointer = context
        localPublicKeyDER = identity.publicKeyDER
        // From here on deinit frees the context if a step below throws.

        guard pc_SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION) == 1,
            pc_SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION) == 1
        else { throw Self.setupError("restrict the context to TLS 1.3") }

        guard let certificate = OpenSSLSupport.parseCertificate(der: identity.certificateDER) else {
            throw Self.setupError("read our certificate")
        }
        defer { X509_free(certificate) }
        guard SSL_CTX_use_certificate(context, certificate) == 1,
            SSL_CTX_use_PrivateKey(context, identity.privateKey.pointer) == 1,
            SSL_CTX_check_private_key(context) == 1
        else { throw Self.setupError("install our certificate and key") }

        SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verifyPeerCertificate)
        // Check the self-signature too, so the subject and dates a peer shows are
        // the ones its key signed (OpenSSL skips this for self-signed leaves by default).
        X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(context), UInt(X509_V_FLAG_CHECK_SS_SIGNATURE))

        let wire = Self.applicationProtocolWire
        guard SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count)) == 0 else {
            throw Self.setupError("offer the application protocol")
        }
        SSL_CTX_set_alpn_select_cb(context, selectApplicationProtocol, nil)
        SSL_CTX_set_client_hello_cb(context, requireApplicationProtocolOffer, nil)

        guard SSL_CTX_set_num_tickets(context, 0) == 1 else { throw Self.setupError("turn off session tickets") }
        _ = SSL_CTX_set_options(context, pc_SSL_OP_NO_TICKET())
        _ = pc_SSL_CTX_set_session_cache_mode(context, Int(SSL_SESS_CACHE_OFF))
    }

    deinit { SSL_CTX_free(pointer) }

    private static func setupError(_ action: String) -> ChannelSecurityError {
        ChannelSecurityError(code: .setupFailed, message: "Failed to \(action): \(OpenSSLSupport.drainErrors()).")
    }
}

/// What the OpenSSL callbacks learn during one handshake, so that the error
/// the channel reports says why in our words. Owned by the handler, reached
/// from the `SSL` through ex_data index 0 (the "app data" slot); used only on
/// the channel's event loop, inside `SSL_do_handshake`.
final class HandshakeNotes {
    var rejection: ChannelSecurityError?

    static func of(_ ssl: OpaquePointer?) -> HandshakeNotes? {
        guard let ssl, let raw = SSL_get_ex_data(ssl, 0) else { return nil }
        return Unmanaged<HandshakeNotes>.fromOpaque(raw).takeUnretainedValue()
    }
}

/// Accepts exactly one certificate: a self-signed leaf (depth 0) whose
/// dates include now. Chains and any other verification error are refused;
/// the trust decision is made after the handshake by pinning the key.
private let verifyPeerCertificate: @convention(c) (Int32, OpaquePointer?) -> Int32 = { preverified, store in
    guard let store else { return 0 }
    let ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()).map { OpaquePointer($0) }
    let notes = HandshakeNotes.of(ssl)
    let depth = X509_STORE_CTX_get_error_depth(store)
    let error = X509_STORE_CTX_get_error(store)
    guard depth == 0 else {
        notes?.rejection = ChannelSecurityError(code: .certificateRejected, message: "The peer sent a certificate chain; a peer must present one self-signed certificate.")
        return 0
    }
    if preverified == 0 && error != X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT {
        // Dates are reported by our own check below with a clearer message.
        if error != X509_V_ERR_CERT_HAS_EXPIRED && error != X509_V_ERR_CERT_NOT_YET_VALID {
            let reason = String(cString: X509_verify_cert_error_string(Int(error)))
            notes?.rejection = ChannelSecurityError(code: .certificateRejected, message: "The peer's certificate was refused: \(reason) (X.509 error \(error)).")
            return 0
        }
    }
    guard let certificate = X509_STORE_CTX_get_current_cert(store) else { return 0 }
    guard let key = X509_get0_pubkey(certificate) else { return 0 }
    if let keyType = PeerCertificate.otherKeyType(key) {
        notes?.rejection = ChannelSecurityError(code: .certificateRejected, message: "The peer's certificate certifies \(keyType) key; a peercollab peer must present an Ed25519 certificate.")
        return 0
    }
    let endCheck = X509_cmp_current_time(X509_get0_notAfter(certificate))
    if endCheck <= 0 {
        X509_STORE_CTX_set_error(store, endCheck == 0 ? X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD : X509_V_ERR_CERT_HAS_EXPIRED)
        notes?.rejection = ChannelSecurityError(code: .certificateExpired, message: "The peer's certificate has expired (valid until \(validityText(X509_get0_notAfter(certificate)))); it must renew it.")
        return 0
    }
    let startCheck = X509_cmp_current_time(X509_get0_notBefore(certificate))
    if startCheck >= 0 {
        X509_STORE_CTX_set_error(store, startCheck == 0 ? X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD : X509_V_ERR_CERT_NOT_YET_VALID)
        notes?.rejection = ChannelSecurityError(code: .certificateNotYetValid, message: "The peer's certificate is not yet valid (valid from \(validityText(X509_get0_notBefore(certificate)))); one of the two clocks is wrong.")
        return 0
    }
    return 1
}

private func validityText(_ time: UnsafePointer<ASN1_TIME>?) -> String {
    guard let seconds = OpenSSLSupport.secondsSince1970(time) else { return "an unreadable date" }
    var clock = time_t(seconds)
    var parts = tm()
    gmtime_r(&clock, &parts)
    var text = [CChar](repeating: 0, count: 32)
    let length = strftime(&text, text.count, "%Y-%m-%d %H:%M:%S UTC", &parts)
    return String(decoding: text.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Server side: picks "peercollab/1" from the client's list or ends the
/// handshake with the no_application_protocol alert.
private let selectApplicationProtocol: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?, UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { ssl, out, outLength, offered, offeredLength, _ in
    guard let out, let outLength, let offered else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    let wanted = TLSContext.applicationProtocolWire
    var index = 0
    // The list is bounded by offeredLength; each step advances by at least one byte.
    while index < Int(offeredLength) {
        let length = Int(offered[index])
        guard length > 0, index + 1 + length <= Int(offeredLength) else { break }
        if length == wanted.count - 1 && (0..<length).allSatisfy({ offered[index + 1 + $0] == wanted[1 + $0] }) {
            out.pointee = offered + index + 1  // must point into the client's list, which outlives the callback
            outLength.pointee = UInt8(length)
            return SSL_TLSEXT_ERR_OK
        }
        index += 1 + length
    }
    HandshakeNotes.of(ssl)?.rejection = ChannelSecurityError(code: .applicationProtocolMismatch, message: "The peer does not speak \(TLSContext.applicationProtocol) (ALPN); it is not a peercollab peer or a different version.")
    return SSL_TLSEXT_ERR_ALERT_FATAL
}

/// Server side: a client that offers no ALPN at all would skip the select
/// callback, so the ClientHello is checked for the extension first.
private let requireApplicationProtocolOffer: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = { ssl, alert, _ in
    var data: UnsafePointer<UInt8>?
    var length = 0
    if SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_application_layer_protocol_negotiation), &data, &length) == 1 {
        return SSL_CLIENT_HELLO_SUCCESS
    }
    HandshakeNotes.of(ssl)?.rejection = ChannelSecurityError(code: .applicationProtocolMismatch, message: "The peer offered no application protocol (ALPN); a peercollab peer must offer \(TLSContext.applicationProtocol).")
    alert?.pointee = SSL_AD_NO_APPLICATION_PROTOCOL
    return SSL_CLIENT_HELLO_ERROR
}

#if canImport(Glibc)
import Glibc
#endif
