import COpenSSL

/// An Ed25519 private key held by OpenSSL.
///
/// Why Ed25519: keys and signatures are small (32-byte public key, 64-byte
/// signature), key generation and signing are fast, signatures are
/// deterministic (no per-signature randomness that a weak RNG could leak the key
/// through), and there are no parameters to get wrong. TLS 1.3 with Ed25519
/// certificates on both sides works with the system OpenSSL 3 (checked on Debian 12:
/// `openssl s_server -tls1_3 -Verify 1` negotiates TLS_AES_256_GCM_SHA384 with such a pair).
///
/// `@unchecked Sendable` is safe because the `EVP_PKEY` is never modified after
/// `init`: it is only read (signing, encoding the public key, handing it to an
/// `SSL_CTX`, which takes its own reference), and openssl-threads(7) states that
/// an `EVP_PKEY` may be used by several threads at once as long as none of them
/// modifies it. The pointer is freed once, in `deinit`, when no reference is left.
final class PrivateKey: @unchecked Sendable {
    let pointer: OpaquePointer
    /// DER SubjectPublicKeyInfo of the public half.
    let publicKeyDER: [UInt8]

    private init(taking pointer: OpaquePointer) throws {
        guard EVP_PKEY_get_base_id(pointer) == EVP_PKEY_ED25519 else {
            EVP_PKEY_free(pointer)
            throw PeerSecurityError(code: .malformedFile, message: "The private key is not an Ed25519 key.")
        }
        guard let spki = OpenSSLSupport.subjectPublicKeyInfo(pointer) else {
            EVP_PKEY_free(pointer)
            throw PeerSecurityError.openSSL("encode the public key")
        }
        self.pointer = pointer
        self.publicKeyDER = spki
    }

    deinit { EVP_PKEY_free(pointer) }

    /// Makes a new Ed25519 key from OpenSSL's CSPRNG.
    static func generate() throws -> PrivateKey {
        ERR_clear_error()
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "ED25519", nil) else {
            throw PeerSecurityError.openSSL("prepare Ed25519 key generation")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_generate(context, &key) == 1, let key else {
            throw PeerSecurityError.openSSL("generate an Ed25519 key")
        }
        return try PrivateKey(taking: key)
    }

    /// Reads a PEM (PKCS#8, unencrypted) private key.
    static func parse(pem: [UInt8], path: String) throws -> PrivateKey {
        ERR_clear_error()
        guard let bio = OpenSSLSupport.memoryBIO(pem) else { throw PeerSecurityError.openSSL("buffer the key file") }
        defer { BIO_free(bio) }
        // A nil password callback with a nil argument would prompt on the
        // terminal for an encrypted key; an empty password makes it fail instead.
        guard let key = PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil) else {
            throw PeerSecurityError.malformedFile(path: path, reason: "no unencrypted PEM private key could be read (\(OpenSSLSupport.drainErrors()))")
        }
        do {
            return try PrivateKey(taking: key)
        } catch let error as PeerSecurityError where error.code == .malformedFile {
            throw PeerSecurityError.malformedFile(path: path, reason: "it holds a key of another type than Ed25519")
        }
    }

    /// The key as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY").
    func pkcs8PEM() throws -> [UInt8] {
        ERR_clear_error()
        guard let bio = BIO_new(BIO_s_mem()) else { throw PeerSecurityError.openSSL("buffer the key") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PKCS8PrivateKey(bio, pointer, nil, nil, 0, nil, nil) == 1 else {
            throw PeerSecurityError.openSSL("encode the private key")
        }
        return OpenSSLSupport.readAll(bio)
    }
}
