import Foundation
import Testing

@testable import Collaboration

/// Cards and certificates the contact-card tests share.
enum ContactCardFixture {
    /// A real Ed25519 self-signed certificate made with `openssl req -x509 -newkey ed25519`.
    static let certificateBase64 =
        "MIIBUTCCAQOgAwIBAgIUV/q+BOHXuuB7GPVKT7CQNKpocdEwBQYDK2VwMB0xGzAZBgNVBAMMEnBlZXJjb2xsYWItZml4dHVyZTAgFw0y"
        + "NjExMjUxNTA0NDlaGA8yMTI2MTEwMTE1MDQ0OVowHTEbMBkGA1UEAwwScGVlcmNvbGxhYi1maXh0dXJlMCowBQYDK2VwAyEAoyjxgYsp"
        + "8mbUNgU9aqdq8xAX1X9q78/csdqP1TvKHA+jUzBRMB0GA1UdDgQWBBTEPlwG1pz3PfGoiKdxngM+PDcCTDAfBgNVHSMEGDAWgBTEPlwG"
        + "1pz3PfGoiKdxngM+PDcCTDAPBgNVHRMBAf8EBTADAQH/MAUGAytlcANBAN/OlrWPkiZKBFc8M+QRsgox+oghlM0jVOvjzr0tU/2aNUaN"
        + "frhJ3lQ0DxXwRg4gRZC5SYn+WGrglns9/mzlUA0="

    static let certificate: [UInt8] = Array(Data(base64Encoded: certificateBase64)!)

    /// 2026-01-01T00:00:00Z, so encoded cards are the same on every run.
    static let revision = Date(timeIntervalSince1970: 1_767_225_600)

    static let card = ContactCard(
        displayName: "Ada Lovelace",
        email: "ada@example.org",
        peerName: "pc-7f3a9c2e1b",
        certificateDER: certificate,
        endpoints: [
            ContactEndpoint(host: "192.0.2.1", port: 4_610),
            ContactEndpoint(host: "2001:db8::1", port: 4_610),
        ]
    )

    /// A DER SEQUENCE of the given total size, shaped like a certificate but made up.
    static func der(totalBytes: Int) -> [UInt8] {
        precondition(totalBytes >= 260 && totalBytes <= 65_539)
        let body = totalBytes - 4
        return [0x30, 0x82, UInt8(body >> 8), UInt8(body & 0xFF)] + (0..<body).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    }

    /// The lines of a minimal valid card, for tests that break one thing in it.
    static func lines(
        fn: String = "FN:Ada Lovelace",
        key: String = "KEY:data:application/pkix-cert;base64," + certificateBase64,
        extra: [String] = []
    ) -> [String] {
        ["BEGIN:VCARD", "VERSION:4.0", fn, key, "X-PEERCOLLAB-PEERNAME:pc-7f3a9c2e1b"] + extra + ["END:VCARD"]
    }

    static func text(_ lines: [String]) -> String {
        lines.map { $0 + "\r\n" }.joined()
    }
}

/// The error a text is refused with, recording an issue if it parses.
func refusal(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ContactCardError? {
    do {
        let card = try ContactCard(parsing: text)
        Issue.record("expected a refusal, but it parsed as \(card)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite("ContactCard: writing and reading back")
struct ContactCardTests {
    @Test("a card survives encode and parse unchanged")
    func roundTrip() throws {
        let card = ContactCardFixture.card
        try card.validate()
        #expect(try ContactCard(parsing: card.encode()) == card)
        #expect(try ContactCard(parsing: card.encode(revision: ContactCardFixture.revision)) == card)
    }

    @Test("a card without email or endpoints survives, and writes no EMAIL")
    func roundTripMinimal() throws {
        let card = ContactCard(displayName: "B", peerName: "p", certificateDER: ContactCardFixture.certificate)
        let text = card.encode()
        #expect(!text.contains("EMAIL"))
        #expect(!text.contains("X-PEERCOLLAB-ENDPOINT"))
        #expect(try ContactCard(parsing: text) == card)
    }

    @Test("the encoded card has the documented layout")
    func layout() {
        let card = ContactCard(
            displayName: "Ada, Countess; of Lovelace", email: "ada@example.org", peerName: "pc-1",
            certificateDER: ContactCardFixture.certificate,
            endpoints: [ContactEndpoint(host: "192.0.2.1", port: 4_610), ContactEndpoint(host: "fe80::1%eth0", port: 9)]
        )
        let lines = card.encode(revision: ContactCardFixture.revision).components(separatedBy: "\r\n")
        let unfolded = card.encode(revision: ContactCardFixture.revision)
            .replacingOccurrences(of: "\r\n ", with: "").components(separatedBy: "\r\n")
        #expect(
            unfolded == [
                "BEGIN:VCARD",
                "VERSION:4.0",
                "PRODID:-//peercollab//ContactCard 1//EN",
                "UID:urn:peercollab:pc-1",
                "FN:Ada\\, Countess\\; of Lovelace",
                "N:;;;;",
                "EMAIL:ada@example.org",
                "KEY;MEDIATYPE=application/pkix-cert:data:application/pkix-cert;base64\\,"
                    + ContactCardFixture.certificateBase64,
                "X-PEERCOLLAB-PEERNAME:pc-1",
                "X-PEERCOLLAB-ENDPOINT:192.0.2.1:4610",
                "X-PEERCOLLAB-ENDPOINT:[fe80::1%eth0]:9",
                "REV:20260101T000000Z",
                "END:VCARD",
                "",
            ]
        )
        #expect(lines.first == "BEGIN:VCARD")
        #expect(lines.allSatisfy { $0.utf8.count <= 75 })
    }

    @Test("text escaping follows RFC 6350 §3.4 and reads back")
    func escaping() throws {
        #expect(ContactCard.escapeText("a\\b,c;d\ne\r\nf\rg") == "a\\\\b\\,c\\;d\\ne\\nf\\ng")
        #expect(ContactCardContentLine.unescapeText("a\\\\b\\,c\\;d\\ne\\Nf\\:g\\") == "a\\b,c;d\ne\nf:g\\")
        let name = "O'Neil, \"Pat\"; \\ the 2nd"
        var card = ContactCardFixture.card
        card.displayName = name
        card.email = "pat,x;y\\z@example.org"
        let text = card.encode()
        #expect(text.contains("FN:O'Neil\\, \"Pat\"\\; \\\\ the 2nd\r\n"))
        #expect(try ContactCard(parsing: text) == card)
    }

    @Test("long lines fold at 75 octets, never inside a UTF-8 sequence or an escape", arguments: 0..<4)
    func folding(shift: Int) throws {
        // Shifting by 0–3 ASCII letters puts every byte of the 3- and 4-byte characters on the boundary.
        let name = String(repeating: "a", count: shift) + String(repeating: "€😀\\é,", count: 24)
        var card = ContactCardFixture.card
        card.displayName = String(name.prefix(128))
        try card.validate()
        let text = card.encode()
        let physical = text.components(separatedBy: "\r\n").dropLast()
        #expect(physical.count > 12, "a 128-character name and a certificate must need folding")
        for line in physical {
            let bytes = Array(line.utf8)
            #expect(bytes.count <= 75, "line of \(bytes.count) octets: \(line)")
            #expect(String(validating: bytes, as: UTF8.self) != nil, "a fold split a UTF-8 sequence")
            let trailingBackslashes = bytes.reversed().prefix { $0 == UInt8(ascii: "\\") }.count
            #expect(trailingBackslashes % 2 == 0, "a fold split an escape: \(line)")
        }
        #expect(try ContactCard(parsing: text) == card)
    }

    @Test("folded, LF-only, tab-continued, lower-case, grouped and quoted input reads")
    func lenientSyntax() throws {
        let base64 = ContactCardFixture.certificateBase64
        let text =
            "\u{FEFF}begin:vcard\n"
            + "version:4.0\n"
            + "item1.fn;language=\"en\":Ada\n"
            + "\t Lovelace\n"
            + "\n"
            + "Key;Value=URI;MEDIATYPE=\"APPLICATION/PKIX-CERT\";PREF=1:DATA:application/pkix-cert;BASE64,"
            + base64.prefix(30) + "\n " + base64.dropFirst(30) + "\n"
            + "x-peercollab-peername:pc-1\n"
            + "X-PEERCOLLAB-ENDPOINT:192.0.2.7:80\n"
            + "TEL;TYPE=\"work,voice\";X-CARET=a^'b^nc:+1 555 0100\n"
            + "end:vcard"
        let card = try ContactCard(parsing: text)
        #expect(card.displayName == "Ada Lovelace")
        #expect(card.certificateDER == ContactCardFixture.certificate)
        #expect(card.peerName == "pc-1")
        #expect(card.endpoints == [ContactEndpoint(host: "192.0.2.7", port: 80)])
        #expect(card.email == nil)
    }

    @Test("KEY is read in both the escaped and RFC-example (unescaped) comma forms")
    func keyCommaForms() throws {
        let base64 = ContactCardFixture.certificateBase64
        for key in [
            "KEY:data:application/pkix-cert;base64," + base64,
            "KEY:data:application/pkix-cert;base64\\," + base64,
            "KEY:data:application/pkix-cert\\;base64\\," + base64,
        ] {
            let card = try ContactCard(parsing: ContactCardFixture.text(ContactCardFixture.lines(key: key)))
            #expect(card.certificateDER == ContactCardFixture.certificate)
        }
    }

    @Test("parameter values decode RFC 6868 caret escapes")
    func caretEscapes() throws {
        let line = try ContactCardContentLine(Array("X;A=^^^n^'^x:v".utf8), line: 1)
        #expect(line.parameter("A") == ["^\n\"^x"])
    }

    @Test(
        "REV is basic ISO 8601 in UTC",
        arguments: [
            (0.0, "19700101T000000Z"), (951_782_400, "20000229T000000Z"), (1_767_225_599.9, "20251231T235959Z"),
            (-1, "19691231T235959Z"), (4_107_542_400, "21000301T000000Z"),
        ] as [(Double, String)]
    )
    func revision(seconds: Double, expected: String) {
        #expect(ContactCard.timestamp(Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test("base64 agrees with Foundation for every length of 0 to 99 bytes")
    func base64AgreesWithFoundation() throws {
        var generator = SplitMix64(seed: 7)
        for count in 0..<100 {
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            let text = ContactCardBase64.encode(bytes)
            #expect(text == Data(bytes).base64EncodedString())
            if count > 0 { #expect(try ContactCardBase64.decode(text[...]).get() == bytes) }
        }
    }

    @Test(
        "base64 decoding takes canonical text only",
        arguments: [
            ("", ContactCardBase64.Failure.length(0)), ("QUJD\nRA==", .length(9)), ("QUJ", .length(3)),
            ("QU=D", .padding), ("Q===", .padding), ("QUJD R==", .character(" ", offset: 4)),
            ("QUJ-", .character("-", offset: 3)), ("QUJé", .length(5)), ("QUJDé==", .character("é", offset: 4)),
            ("QR==", .trailingBits), ("QUN=", .trailingBits),
        ] as [(String, ContactCardBase64.Failure)]
    )
    func base64Strict(text: String, failure: ContactCardBase64.Failure) {
        #expect(throws: failure) { try ContactCardBase64.decode(text[...]).get() }
    }

    @Test("validate() applies the reader's rules to a card built in code")
    func validateRules() {
        func code(_ change: (inout ContactCard) -> Void) -> ContactCardError.Code? {
            var card = ContactCardFixture.card
            change(&card)
            do {
                try card.validate()
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code { _ in } == nil)
        #expect(code { $0.displayName = "" } == .invalidValue)
        #expect(code { $0.displayName = "   " } == .invalidValue)
        #expect(code { $0.displayName = String(repeating: "x", count: 129) } == .invalidValue)
        #expect(code { $0.displayName = String(repeating: "👩‍👩‍👧", count: 128) } == nil)
        #expect(code { $0.displayName = "a\u{202E}b" } == .invalidValue)
        #expect(code { $0.email = "no-at-sign" } == .invalidValue)
        #expect(code { $0.peerName = "pc_1" } == .invalidValue)
        #expect(code { $0.certificateDER = Array(ContactCardFixture.certificate.dropLast()) } == .invalidValue)
        #expect(code { $0.certificateDER = ContactCardFixture.der(totalBytes: 32_769) } == .invalidValue)
        #expect(code { $0.endpoints.append($0.endpoints[0]) } == .invalidValue)
        #expect(code { $0.endpoints = [ContactEndpoint(host: "a_b", port: 1)] } == .invalidValue)
        #expect(code { $0.endpoints = [ContactEndpoint(host: "h", port: 0)] } == .invalidValue)
        #expect(
            code { card in
                card.endpoints = (1...33).map { ContactEndpoint(host: "192.0.2.1", port: UInt16($0)) }
            } == .tooLarge)
    }

    @Test("the largest valid card stays under the 64 KiB limit and reads back")
    func largestValidCard() throws {
        let card = ContactCard(
            displayName: String(repeating: ",", count: 128),
            email: String(repeating: "e", count: 64) + "@" + String(repeating: "d", count: 189),
            peerName: String(repeating: "p", count: 63),
            certificateDER: ContactCardFixture.der(totalBytes: ContactCard.maximumCertificateBytes),
            endpoints: (1...32).map { ContactEndpoint(host: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%abcdefgh", port: UInt16(65_503 + $0)) }
        )
        try card.validate()
        let text = card.encode()
        #expect(text.utf8.count < ContactCard.maximumCardBytes)
        #expect(try ContactCard(parsing: text) == card)
    }

    @Test(
        "endpoints read in host:port and [IPv6]:port form",
        arguments: [
            ("192.0.2.1:4610", "192.0.2.1", 4_610), ("[2001:db8::1]:1", "2001:db8::1", 1),
            ("[::1]:65535", "::1", 65_535), ("[fe80::1%eth0]:80", "fe80::1%eth0", 80),
            ("[::ffff:192.0.2.1]:80", "::ffff:192.0.2.1", 80), ("host-a.example.org:80", "host-a.example.org", 80),
            ("[1:2:3:4:5:6:7:8]:9", "1:2:3:4:5:6:7:8", 9),
        ] as [(String, String, UInt16)]
    )
    func endpointForms(text: String, host: String, port: UInt16) throws {
        let endpoint = try ContactEndpoint(cardValue: text)
        #expect(endpoint == ContactEndpoint(host: host, port: port))
        #expect(endpoint.description == text)
    }
}

/// A small deterministic generator, so random-looking tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
