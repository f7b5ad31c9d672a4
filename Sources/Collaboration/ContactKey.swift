import PeerSecurity

/// What a contact's pinned certificate gives, computed once per contact when first asked
/// for (GetManagedObjects asks for every one): the key, for comparing with the key a session
/// proves, the fingerprint and the verification code. The certificate itself stays in the
/// record; keeping no second copy of it matters with thousands of contacts.
struct ContactKey: Sendable {
    let publicKeyDER: [UInt8]
    let fingerprint: Fingerprint
    let verificationCode: VerificationCode
    /// The record's certificate this was computed from, to notice a change. It shares the
    /// record's storage (no copy), and comparing two arrays that share storage is immediate.
    let certificateDER: [UInt8]

    /// The key of a stored certificate, if its key gives `peerName`.
    ///
    /// The certificate was parsed whole by OpenSSL when it was stored (AddContact,
    /// AddToContacts); here its SubjectPublicKeyInfo is only found by walking the DER, because
    /// OpenSSL 3 takes about 0.15 ms a certificate (most of a start with 10,000 contacts) and
    /// the check that matters, that the key gives the peer name, needs only SHA-256.
    init?(certificateDER der: [UInt8], peerName: String, localPublicKeyDER: [UInt8]) {
        guard let spki = Self.subjectPublicKeyInfo(ofCertificate: der),
            PeerName(publicKeyDER: spki).description == peerName
        else { return nil }
        publicKeyDER = spki
        fingerprint = Fingerprint(certificateDER: der)
        verificationCode = VerificationCode(local: localPublicKeyDER, remote: spki)
        certificateDER = der
    }

    /// The DER SubjectPublicKeyInfo of an X.509 certificate (RFC 5280 §4.1): the seventh
    /// element of tbsCertificate, or the sixth when the optional version is absent. Nil for
    /// anything that is not that shape; never reads outside `der`.
    static func subjectPublicKeyInfo(ofCertificate der: [UInt8]) -> [UInt8]? {
        guard let certificate = element(in: der, at: 0), certificate.tag == 0x30, certificate.end == der.count,
            let tbs = element(in: der, at: certificate.contentStart), tbs.tag == 0x30
        else { return nil }
        var position = tbs.contentStart
        var index = 0
        var spkiIndex = 6
        while position < tbs.end {
            guard let field = element(in: der, at: position), field.end <= tbs.end else { return nil }
            if index == 0 && field.tag != 0xA0 { spkiIndex = 5 }  // no [0] version: v1
            if index == spkiIndex {
                guard field.tag == 0x30 else { return nil }
                return Array(der[position..<field.end])
            }
            position = field.end
            index += 1
        }
        return nil
    }

    /// One DER element at `start`: its tag, where its content starts, where it ends.
    private static func element(in der: [UInt8], at start: Int) -> (tag: UInt8, contentStart: Int, end: Int)? {
        guard start >= 0, start + 2 <= der.count else { return nil }
        let tag = der[start]
        // Multi-byte tags do not occur in a certificate's outer structure.
        guard tag & 0x1F != 0x1F else { return nil }
        var length = Int(der[start + 1])
        var contentStart = start + 2
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard (1...4).contains(count), contentStart + count <= der.count else { return nil }
            length = 0
            for byte in der[contentStart..<(contentStart + count)] { length = length << 8 | Int(byte) }
            contentStart += count
        }
        guard length <= der.count - contentStart else { return nil }
        return (tag, contentStart, contentStart + length)
    }
}
