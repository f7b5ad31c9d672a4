/// The contact card peers exchange out of band to become trusted contacts: a vCard 4.0
/// (RFC 6350) carrying the display name, the optional email, the certificate that pins the
/// peer's key, the peer name and the endpoints where the peer was last reachable.
///
/// `encode()` writes it; `init(parsing:)` reads it back, strictly, so that a hostile or broken
/// card is refused whole with a `ContactCardError`. The certificate is opaque DER here: only
/// its outer structure is checked; PeerSecurity decides whether it matches the peer name.
public struct ContactCard: Sendable, Hashable {
    /// The name the person chose to be shown as (vCard `FN`). It proves nothing.
    public var displayName: String
    /// The person's email address (vCard `EMAIL`), if they chose to publish one.
    public var email: String?
    /// The peer name derived from the certificate's key (`X-PEERCOLLAB-PEERNAME`).
    public var peerName: String
    /// The peer's X.509 certificate, DER-encoded (vCard `KEY`).
    public var certificateDER: [UInt8]
    /// Where the peer listens, as it said when the card was made (`X-PEERCOLLAB-ENDPOINT`).
    public var endpoints: [ContactEndpoint]

    /// Makes a card from its parts; call `validate()` before publishing one built from user input.
    public init(
        displayName: String, email: String? = nil, peerName: String,
        certificateDER: [UInt8], endpoints: [ContactEndpoint] = []
    ) {
        self.displayName = displayName
        self.email = email
        self.peerName = peerName
        self.certificateDER = certificateDER
        self.endpoints = endpoints
    }
}

// MARK: - Limits

extension ContactCard {
    /// The largest card accepted, in UTF-8 bytes (docs/dbus-api.md, Limits).
    public static let maximumCardBytes = 65_536
    /// The most content lines (after unfolding) a card may have.
    public static let maximumContentLines = 256
    /// The longest display name, in characters.
    public static let maximumDisplayNameLength = 128
    /// The longest email address, in UTF-8 bytes (RFC 5321's path limit).
    public static let maximumEmailBytes = 254
    /// The longest peer name, in characters (a DNS label's limit, since it goes into mDNS names).
    public static let maximumPeerNameLength = 63
    /// The largest certificate, in bytes; keeps every valid card well under `maximumCardBytes`.
    public static let maximumCertificateBytes = 32_768
    /// The most endpoints a card may list.
    public static let maximumEndpoints = 32
}

// MARK: - Validation

extension ContactCard {
    /// Checks every field against the rules `init(parsing:)` applies, so that a card that
    /// validates always encodes to text that parses back to the same card.
    public func validate() throws(ContactCardError) {
        try Self.validateDisplayName(displayName)
        if let email { try Self.validateEmail(email) }
        try Self.validatePeerName(peerName)
        try Self.validateCertificate(certificateDER)
        guard endpoints.count <= Self.maximumEndpoints else {
            throw .tooLarge("it lists \(endpoints.count) endpoints", limit: "\(Self.maximumEndpoints)")
        }
        var seen = Set<ContactEndpoint>()
        for endpoint in endpoints {
            try endpoint.validate()
            guard seen.insert(endpoint).inserted else {
                throw .invalidValue(Self.endpointProperty, line: nil, "lists \(endpoint) twice; list each endpoint once")
            }
        }
    }

    /// Checks a display name: 1–128 characters, not only blanks, no control or bidi-override
    /// characters (which would let a name hide or reorder what the user reads).
    public static func validateDisplayName(_ name: String) throws(ContactCardError) {
        try validateDisplayName(name, line: nil)
    }

    static func validateDisplayName(_ name: String, line: Int?) throws(ContactCardError) {
        let field = "FN"
        guard !name.isEmpty, !name.unicodeScalars.allSatisfy(\.properties.isWhitespace) else {
            throw .invalidValue(field, line: line, "is empty; give the person a name of 1 to \(maximumDisplayNameLength) characters")
        }
        let count = name.count
        guard count <= maximumDisplayNameLength else {
            throw .invalidValue(field, line: line, "has \(count) characters; shorten it to at most \(maximumDisplayNameLength)")
        }
        let control = name.unicodeScalars.enumerated().first { isForbiddenInName($0.element) }.map { ($0.element, $0.offset + 1) }
        if let (bad, position) = control ?? InvisibleCharacters.first(in: name) {
            throw .invalidValue(
                field, line: line,
                "contains \(bad.codePointDescription) at position \(position), a control character or invisible formatting character; remove it (names are one line of visible text)"
            )
        }
    }

    /// Checks an email address loosely: one line, ≤ 254 bytes, `local@domain` with both parts
    /// present. Deliverability is not this type's business.
    public static func validateEmail(_ email: String) throws(ContactCardError) {
        try validateEmail(email, line: nil)
    }

    static func validateEmail(_ email: String, line: Int?) throws(ContactCardError) {
        let field = "EMAIL"
        let bytes = email.utf8.count
        guard bytes <= maximumEmailBytes else {
            throw .invalidValue(field, line: line, "is \(bytes) bytes long; at most \(maximumEmailBytes) is accepted")
        }
        if let bad = email.unicodeScalars.first(where: { $0.properties.isWhitespace || isForbiddenInName($0) || InvisibleCharacters.isInvisible($0) }) {
            throw .invalidValue(field, line: line, "contains \(bad.codePointDescription); an address has no blanks or control characters")
        }
        guard let at = email.lastIndex(of: "@"), at != email.startIndex, email.index(after: at) != email.endIndex else {
            throw .invalidValue(field, line: line, "\"\(email)\" is not of the form name@example.org")
        }
        let local = email[..<at].utf8.count
        guard local <= 64 else {
            throw .invalidValue(field, line: line, "has a part before @ of \(local) bytes; at most 64 is accepted")
        }
    }

    /// Checks a peer name's shape only: 1–63 ASCII letters, digits and hyphens. Whether it
    /// belongs to the certificate is PeerSecurity's check.
    public static func validatePeerName(_ name: String) throws(ContactCardError) {
        try validatePeerName(name, line: nil)
    }

    static func validatePeerName(_ name: String, line: Int?) throws(ContactCardError) {
        let field = peerNameProperty
        guard !name.isEmpty, name.utf8.count <= maximumPeerNameLength else {
            throw .invalidValue(field, line: line, "must have 1 to \(maximumPeerNameLength) characters, not \(name.count)")
        }
        guard name.utf8.allSatisfy({ $0.isASCIILetterOrDigit || $0 == UInt8(ascii: "-") }) else {
            throw .invalidValue(field, line: line, "\"\(name)\" may hold only ASCII letters, digits and hyphens")
        }
    }

    /// Checks that the bytes are one DER SEQUENCE of exactly their length, as a certificate is,
    /// and within the size limit. It does not parse the certificate.
    public static func validateCertificate(_ der: [UInt8]) throws(ContactCardError) {
        try validateCertificate(der, line: nil)
    }

    static func validateCertificate(_ der: [UInt8], line: Int?) throws(ContactCardError) {
        let field = "KEY"
        guard !der.isEmpty else {
            throw .invalidValue(field, line: line, "is empty; the card must carry the peer's certificate")
        }
        guard der.count <= maximumCertificateBytes else {
            throw .invalidValue(field, line: line, "is \(der.count) bytes; at most \(maximumCertificateBytes) is accepted")
        }
        guard DERShape.isSingleSequence(der) else {
            throw .invalidValue(
                field, line: line,
                "holds \(der.count) bytes that are not one DER-encoded certificate (cut off or padded?); "
                    + "ask the sender to export the card again"
            )
        }
    }

    static func isForbiddenInName(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x2028, 0x2029: return true  // line and paragraph separators
        case 0x202A...0x202E, 0x2066...0x2069: return true  // bidi embeddings, overrides, isolates
        default: return scalar.properties.generalCategory == .control
        }
    }
}

/// The outer shape of DER: enough to catch a truncated or padded certificate without a parser.
enum DERShape {
    static func isSingleSequence(_ der: [UInt8]) -> Bool {
        guard der.count >= 2, der[0] == 0x30 else { return false }
        let first = Int(der[1])
        if first < 0x80 { return 2 + first == der.count }
        let lengthBytes = first & 0x7F
        // 0 is BER's indefinite length; DER forbids it, and 4 bytes is far beyond our limit.
        guard (1...4).contains(lengthBytes), der.count >= 2 + lengthBytes, der[2] != 0 else { return false }
        var length = 0
        for byte in der[2..<(2 + lengthBytes)] { length = length << 8 | Int(byte) }
        // DER uses the long form only for lengths that need it.
        guard length >= 0x80 else { return false }
        return 2 + lengthBytes + length == der.count
    }
}

extension UInt8 {
    var isASCIILetterOrDigit: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

extension Unicode.Scalar {
    /// `U+0009` style, for messages about characters a user cannot see.
    var codePointDescription: String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
