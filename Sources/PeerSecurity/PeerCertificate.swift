import COpenSSL

/// An X.509 certificate of a peer, parsed and checked to be usable as one:
/// what a contact card carries and what a channel presents.
public struct PeerCertificate: Sendable, Hashable {
    /// The DER encoding.
    public let derEncoded: [UInt8]
    /// The DER SubjectPublicKeyInfo of the certified key.
    public let publicKeyDER: [UInt8]
    /// The name derived from the key (never from the subject, which anyone can write).
    public let peerName: PeerName
    /// SHA-256 of ``derEncoded``.
    public let fingerprint: Fingerprint
    /// Start of validity, seconds since 1970 (UTC).
    public let notBefore: Int64
    /// End of validity, seconds since 1970 (UTC).
    public let notAfter: Int64

    /// Parses a DER certificate; throws if it is not exactly one X.509 certificate.
    public init(derEncoded der: [UInt8]) throws {
        ERR_clear_error()
        guard let certificate = OpenSSLSupport.parseCertificate(der: der) else {
            throw PeerSecurityError.invalidCertificate("the bytes are not one DER X.509 certificate (\(OpenSSLSupport.drainErrors()))")
        }
        defer { X509_free(certificate) }
        try self.init(certificate: certificate)
    }

    /// Parses the first PEM certificate ("BEGIN CERTIFICATE") in the text.
    public init(pemEncoded pem: String) throws {
        ERR_clear_error()
        guard let bio = OpenSSLSupport.memoryBIO(Array(pem.utf8)) else { throw PeerSecurityError.openSSL("buffer a certificate") }
        defer { BIO_free(bio) }
        guard let certificate = PEM_read_bio_X509(bio, nil, { _, _, _, _ in 0 }, nil) else {
            throw PeerSecurityError.invalidCertificate("no PEM certificate found (\(OpenSSLSupport.drainErrors()))")
        }
        defer { X509_free(certificate) }
        try self.init(certificate: certificate)
    }

    /// Reads the fields of an OpenSSL certificate, which stays owned by the caller.
    init(certificate: OpaquePointer) throws {
        guard let der = OpenSSLSupport.certificateDER(certificate) else {
            throw PeerSecurityError.invalidCertificate("it cannot be encoded (\(OpenSSLSupport.drainErrors()))")
        }
        guard let key = X509_get0_pubkey(certificate), let spki = OpenSSLSupport.subjectPublicKeyInfo(key) else {
            throw PeerSecurityError.invalidCertificate("its public key cannot be read (\(OpenSSLSupport.drainErrors()))")
        }
        if let keyType = Self.otherKeyType(key) {
            throw PeerSecurityError.invalidCertificate(
                "it certifies \(keyType) key; a peer's certificate must certify an Ed25519 key (peercollab makes no other)")
        }
        guard let notBefore = OpenSSLSupport.secondsSince1970(X509_get0_notBefore(certificate)),
            let notAfter = OpenSSLSupport.secondsSince1970(X509_get0_notAfter(certificate))
        else {
            throw PeerSecurityError.invalidCertificate("its validity dates cannot be read")
        }
        self.derEncoded = der
        self.publicKeyDER = spki
        self.peerName = PeerName(publicKeyDER: spki)
        self.fingerprint = Fingerprint(certificateDER: der)
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    /// Nil for an Ed25519 key, else what kind of key it is ("an RSA", "an EC"), for the
    /// error: every peer key is Ed25519, and accepting others would only widen what a
    /// hostile peer can make us parse and verify.
    static func otherKeyType(_ key: OpaquePointer) -> String? {
        let type = EVP_PKEY_get_base_id(key)
        guard type != EVP_PKEY_ED25519 else { return nil }
        switch type {
        case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS: return "an RSA"
        case EVP_PKEY_EC: return "an EC"
        case EVP_PKEY_DSA: return "a DSA"
        case EVP_PKEY_ED448: return "an Ed448"
        default:
            let name = OBJ_nid2sn(type).map { String(cString: $0) } ?? "unknown"
            return "a \(name)"
        }
    }

    /// The certificate as PEM text ("BEGIN CERTIFICATE").
    public var pemEncoded: String {
        let base64 = Self.base64(derEncoded)
        var lines = ["-----BEGIN CERTIFICATE-----"]
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        lines.append("-----END CERTIFICATE-----")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func base64(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let triple = (b0 << 16) | (b1 << 8) | b2
            out.append(table[Int((triple >> 18) & 63)])
            out.append(table[Int((triple >> 12) & 63)])
            out.append(index + 1 < bytes.count ? table[Int((triple >> 6) & 63)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? table[Int(triple & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Issues a self-signed X.509 v3 certificate for `key`, valid from an hour
    /// ago (tolerating clocks that lag) for `validityDays`; tests move the
    /// window with the two offsets (seconds from now).
    ///
    /// Every peer is its own CA, so basicConstraints is CA:TRUE and keyUsage has
    /// keyCertSign besides digitalSignature (what the TLS handshake signature
    /// needs). The subject CN carries the peer name for people reading the
    /// certificate with other tools; peers never trust it, they derive the name
    /// from the key. The serial is 128 random bits, positive as RFC 5280 wants.
    static func issueSelfSigned(
        key: PrivateKey, validityDays: Int = 365, notBeforeOffset: Int = -3600, notAfterOffset: Int? = nil
    ) throws -> PeerCertificate {
        ERR_clear_error()
        guard let certificate = X509_new() else { throw PeerSecurityError.openSSL("allocate a certificate") }
        defer { X509_free(certificate) }
        let peerName = PeerName(publicKeyDER: key.publicKeyDER)

        var serial = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&serial, Int32(serial.count)) == 1 else { throw PeerSecurityError.openSSL("draw a serial number") }
        serial[0] &= 0x7F
        serial[0] |= 0x40  // keeps the full 128-bit length so the serial never shrinks to a short number
        guard let serialNumber = BN_bin2bn(serial, Int32(serial.count), nil) else { throw PeerSecurityError.openSSL("make a serial number") }
        defer { BN_free(serialNumber) }

        guard X509_set_version(certificate, Int(X509_VERSION_3)) == 1,
            BN_to_ASN1_INTEGER(serialNumber, X509_get_serialNumber(certificate)) != nil,
            X509_gmtime_adj(X509_getm_notBefore(certificate), notBeforeOffset) != nil,
            X509_gmtime_adj(X509_getm_notAfter(certificate), notAfterOffset ?? validityDays * 86_400) != nil,
            X509_set_pubkey(certificate, key.pointer) == 1
        else { throw PeerSecurityError.openSSL("fill in the certificate") }

        guard let subject = X509_get_subject_name(certificate),
            X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, "peercollab", -1, -1, 0) == 1,
            X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, peerName.description, -1, -1, 0) == 1,
            X509_set_issuer_name(certificate, subject) == 1
        else { throw PeerSecurityError.openSSL("name the certificate's subject") }

        var extensionContext = X509V3_CTX()
        X509V3_set_ctx(&extensionContext, certificate, certificate, nil, nil, 0)
        pc_X509V3_set_ctx_nodb(&extensionContext)
        // Order matters: the authority key identifier copies the subject key identifier.
        let extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,digitalSignature,keyCertSign"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        for (nid, value) in extensions {
            guard let x509Extension = X509V3_EXT_conf_nid(nil, &extensionContext, nid, value) else {
                throw PeerSecurityError.openSSL("make the certificate extension \(value)")
            }
            defer { X509_EXTENSION_free(x509Extension) }
            guard X509_add_ext(certificate, x509Extension, -1) == 1 else {
                throw PeerSecurityError.openSSL("add the certificate extension \(value)")
            }
        }
        // Ed25519 signs the message itself, so no digest is named.
        guard X509_sign(certificate, key.pointer, nil) > 0 else { throw PeerSecurityError.openSSL("sign the certificate") }
        return try PeerCertificate(certificate: certificate)
    }
}
