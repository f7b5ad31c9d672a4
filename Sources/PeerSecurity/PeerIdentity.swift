/// This user's identity among peers: an Ed25519 key pair and a self-signed
/// certificate for it, kept in a folder (`key.pem`, mode 0600, and
/// `certificate.pem`).
///
/// The key is Ed25519: small keys and signatures, fast, deterministic
/// signatures (no per-signature randomness to leak the key through), no
/// parameters to get wrong, and TLS 1.3 with Ed25519 certificates on both
/// sides works with the system OpenSSL 3.
///
/// A value: copies share the key (immutable, see `PrivateKey`). Renewal
/// replaces the certificate, never the key, so the ``peerName`` stays.
public struct PeerIdentity: Sendable {
    /// The folder holding the key and certificate.
    public let directory: String
    let privateKey: PrivateKey
    /// The current certificate.
    public private(set) var certificate: PeerCertificate

    /// How long a new certificate is valid.
    public static let validityDays = 365
    /// A certificate with less left than this is renewed.
    public static let renewalMargin: Int64 = 30 * 24 * 3600

    /// The file name of the private key inside ``directory``.
    public static let keyFileName = "key.pem"
    /// The file name of the certificate inside ``directory``.
    public static let certificateFileName = "certificate.pem"

    /// Loads the identity kept in `directory`, or makes one on first start: a
    /// new key and certificate, written atomically. A certificate that is
    /// missing, unreadable, does not match the key, or expires within ``renewalMargin`` is
    /// reissued for the same key. Refuses a key file others can read, telling the
    /// user to `chmod 600` it. `now`: seconds since 1970, for the renewal check.
    public static func loadOrCreate(directory: String, now: Int64 = Int64(time(nil))) throws -> PeerIdentity {
        try IdentityFile.makeFolder(directory)
        let keyPath = path(directory, keyFileName)
        let certificatePath = path(directory, certificateFileName)

        let key: PrivateKey
        switch try IdentityFile.read(keyPath, private: true) {
        case .present(let pem):
            key = try PrivateKey.parse(pem: pem, path: keyPath)
        case .missing:
            key = try PrivateKey.generate()
            try IdentityFile.writeAtomically(try key.pkcs8PEM(), to: keyPath, mode: 0o600)
        }

        if case .present(let pem) = try IdentityFile.read(certificatePath, private: false),
            let certificate = try? PeerCertificate(pemEncoded: String(decoding: pem, as: UTF8.self)),
            certificate.publicKeyDER == key.publicKeyDER
        {
            var identity = PeerIdentity(directory: directory, privateKey: key, certificate: certificate)
            try identity.renewIfNeeded(now: now)
            return identity
        }
        let identity = PeerIdentity(directory: directory, privateKey: key, certificate: try PeerCertificate.issueSelfSigned(key: key))
        try identity.saveCertificate()
        return identity
    }

    /// The name derived from the public key.
    public var peerName: PeerName { certificate.peerName }
    /// SHA-256 fingerprint of the current certificate (changes on renewal).
    public var fingerprint: Fingerprint { certificate.fingerprint }
    /// DER SubjectPublicKeyInfo of the public key.
    public var publicKeyDER: [UInt8] { privateKey.publicKeyDER }
    /// DER encoding of the current certificate.
    public var certificateDER: [UInt8] { certificate.derEncoded }
    /// PEM encoding of the current certificate.
    public var certificatePEM: String { certificate.pemEncoded }
    /// End of the current certificate's validity, seconds since 1970 (UTC).
    public var notAfter: Int64 { certificate.notAfter }

    /// Reissues the certificate for the same key when less than
    /// ``renewalMargin`` of its validity is left at `now` (seconds since 1970);
    /// returns whether it did. Channels made before keep the old certificate:
    /// make a new ``SecureChannel`` after a renewal.
    @discardableResult
    public mutating func renewIfNeeded(now: Int64 = Int64(time(nil))) throws -> Bool {
        guard certificate.notAfter - now < Self.renewalMargin else { return false }
        try renew()
        return true
    }

    /// Reissues the certificate for the same key now, whatever its age.
    public mutating func renew() throws {
        certificate = try PeerCertificate.issueSelfSigned(key: privateKey, validityDays: Self.validityDays)
        try saveCertificate()
    }

    private func saveCertificate() throws {
        try IdentityFile.writeAtomically(Array(certificate.pemEncoded.utf8), to: Self.path(directory, Self.certificateFileName), mode: 0o644)
    }

    static func path(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
