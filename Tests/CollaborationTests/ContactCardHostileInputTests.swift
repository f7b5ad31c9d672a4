import Foundation
import Testing

@testable import Collaboration

@Suite("ContactCard: refusing hostile and broken cards")
struct ContactCardHostileInputTests {
    typealias Fixture = ContactCardFixture

    static func card(_ lines: [String]) -> String { Fixture.text(lines) }

    @Test(
        "text that is not a vCard is refused as notAVCard",
        arguments: [
            "", "\r\n\r\n", "hello", "{\"fn\": \"Ada\"}", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
            "FN:Ada\r\nBEGIN:VCARD\r\nEND:VCARD\r\n", "BEGIN:VCARDX\r\nEND:VCARD\r\n",
            // Cut off before its end.
            "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada\r\n",
        ]
    )
    func notAVCard(text: String) {
        #expect(refusal(text)?.code == .notAVCard)
    }

    @Test("size is checked before anything else is read")
    func tooLargeFirst() throws {
        // Garbage that would be notAVCard if it were read at all.
        let garbage = String(repeating: "\u{0}", count: ContactCard.maximumCardBytes + 1)
        let error = try #require(refusal(garbage))
        #expect(error.code == .tooLarge)
        #expect(error.message.contains("65537 bytes"))
        // Multi-byte characters count by their UTF-8 bytes, not as characters.
        let wide = Self.card(Fixture.lines(extra: ["NOTE:" + String(repeating: "€", count: 21_846)]))
        #expect(wide.count < ContactCard.maximumCardBytes)
        #expect(refusal(wide)?.code == .tooLarge)
    }

    @Test("a card just under 64 KiB is still read: the limit is the size, not a guess")
    func justUnderTheLimit() throws {
        let base = Self.card(Fixture.lines(extra: ["NOTE:"]))
        let padding = ContactCard.maximumCardBytes - base.utf8.count
        let text = Self.card(Fixture.lines(extra: ["NOTE:" + String(repeating: "n", count: padding)]))
        #expect(text.utf8.count == ContactCard.maximumCardBytes)
        #expect(try ContactCard(parsing: text).displayName == "Ada Lovelace")
        #expect(refusal(text + "x")?.code == .tooLarge)
    }

    @Test("thousands of lines are refused, folded or not")
    func thousandsOfLines() throws {
        let many = Self.card(Fixture.lines(extra: Array(repeating: "X-A:1", count: 5_000)))
        #expect(many.utf8.count < ContactCard.maximumCardBytes)
        let error = try #require(refusal(many))
        #expect(error.code == .tooLarge)
        #expect(error.message.contains("256 lines"))
        // Physical lines that fold into one content line are fine: the bound is on content lines.
        let folded = Self.card(Fixture.lines(extra: ["NOTE:x" + String(repeating: "\r\n y", count: 5_000)]))
        #expect(try ContactCard(parsing: folded).peerName == "pc-7f3a9c2e1b")
    }

    @Test(
        "a field that may appear once is refused when repeated, naming both lines",
        arguments: [
            ("FN", "FN:Mallory"), ("KEY", "KEY:data:application/pkix-cert;base64," + ContactCardFixture.certificateBase64),
            ("X-PEERCOLLAB-PEERNAME", "x-peercollab-peername:pc-evil"), ("EMAIL", "EMAIL:a@b.c\r\nEMAIL:d@e.f"),
            ("VERSION", "VERSION:4.0"),
        ]
    )
    func repeatedField(field: String, line: String) throws {
        let lines = Fixture.lines(extra: line.components(separatedBy: "\r\n"))
        let error = try #require(refusal(Self.card(lines)))
        #expect(error.code == .repeatedField)
        #expect(error.field == field)
        #expect(error.line == 6 || error.line == 7)
        #expect(error.message.contains("twice"))
    }

    @Test(
        "a card without a required field is refused as missingField",
        arguments: ["FN", "KEY", "X-PEERCOLLAB-PEERNAME", "VERSION"]
    )
    func missingField(field: String) throws {
        let lines = Fixture.lines().filter { !$0.hasPrefix(field + ":") }
        let error = try #require(refusal(Self.card(lines)))
        #expect(error.code == .missingField)
        #expect(error.field == field)
    }

    @Test("vCard 3.0 and other versions are refused as unsupportedVersion, before their fields are judged")
    func otherVersions() throws {
        let v3 = Self.card([
            "BEGIN:VCARD", "VERSION:3.0", "FN:Ada", "KEY;ENCODING=b;TYPE=X509:" + Fixture.certificateBase64,
            "X-PEERCOLLAB-PEERNAME:pc-1", "END:VCARD",
        ])
        let error = try #require(refusal(v3))
        #expect(error.code == .unsupportedVersion)
        #expect(error.line == 2)
        #expect(error.message.contains("4.0"))
        for version in ["2.1", "4", "5.0", ""] {
            let lines = Fixture.lines().map { $0 == "VERSION:4.0" ? "VERSION:" + version : $0 }
            #expect(refusal(Self.card(lines))?.code == .unsupportedVersion)
        }
    }

    @Test(
        "a KEY that does not carry one well-formed certificate is refused as invalidValue",
        arguments: [
            "KEY:http://example.org/ada.cer",
            "KEY;ENCODING=b:" + ContactCardFixture.certificateBase64,
            "KEY:data:image/png;base64," + ContactCardFixture.certificateBase64,
            "KEY:data:application/pkix-cert," + ContactCardFixture.certificateBase64,
            "KEY:data:application/pkix-cert;base64",
            "KEY:data:application/pkix-cert;base64,",
            "KEY;MEDIATYPE=application/pgp-keys:data:application/pkix-cert;base64," + ContactCardFixture.certificateBase64,
            "KEY;VALUE=text:data:application/pkix-cert;base64," + ContactCardFixture.certificateBase64,
            // Not base64: a stray character, a cut-off group, '=' inside, whitespace.
            "KEY:data:application/pkix-cert;base64," + ContactCardFixture.certificateBase64.replacingOccurrences(of: "Q", with: "*"),
            "KEY:data:application/pkix-cert;base64," + ContactCardFixture.certificateBase64.dropLast(),
            "KEY:data:application/pkix-cert;base64,QU=D" + ContactCardFixture.certificateBase64,
            "KEY:data:application/pkix-cert;base64,QUJD " + ContactCardFixture.certificateBase64.dropFirst(4),
            // Valid base64 of bytes that are not one certificate: cut off, padded, not DER.
            "KEY:data:application/pkix-cert;base64," + Data(ContactCardFixture.certificate.dropLast(3)).base64EncodedString(),
            "KEY:data:application/pkix-cert;base64," + Data(ContactCardFixture.certificate + [0, 0, 0]).base64EncodedString(),
            "KEY:data:application/pkix-cert;base64,aGVsbG8gd29ybGQ=",
            "KEY:data:application/pkix-cert;base64,MIA=",
        ]
    )
    func badKey(key: String) throws {
        let error = try #require(refusal(Self.card(Fixture.lines(key: key))))
        #expect(error.code == .invalidValue)
        #expect(error.field == "KEY")
        #expect(error.line == 4)
        #expect(error.message.contains("line 4"))
    }

    @Test("a certificate over 32 KiB is refused even inside a card under 64 KiB")
    func hugeCertificate() {
        let der = ContactCardFixture.der(totalBytes: 40_000)
        let text = Self.card(Fixture.lines(key: "KEY:data:application/pkix-cert;base64," + Data(der).base64EncodedString()))
        #expect(text.utf8.count < ContactCard.maximumCardBytes)
        #expect(refusal(text)?.code == .invalidValue)
    }

    @Test(
        "names with control characters are refused: raw ones as malformed lines, escaped or invisible ones as invalid names",
        arguments: [
            ("FN:Ada\u{0}Lovelace", ContactCardError.Code.malformedLine), ("FN:Ada\u{1B}[31m", .malformedLine),
            ("FN:Ada\u{7F}", .malformedLine), ("FN:Ada\u{85}", .malformedLine), ("FN:Ada\rLovelace", .malformedLine),
            ("FN:Ada\\nLovelace", .invalidValue), ("FN:Ada\tLovelace", .invalidValue), ("FN:Ada\u{202E}ecalevol", .invalidValue),
            ("FN:Ada\u{2028}", .invalidValue), ("FN:", .invalidValue), ("FN:  ", .invalidValue),
            ("FN:" + String(repeating: "A", count: 129), .invalidValue),
        ]
    )
    func controlCharacters(fn: String, code: ContactCardError.Code) throws {
        let error = try #require(refusal(Self.card(Fixture.lines(fn: fn))))
        #expect(error.code == code)
        #expect(error.line == 3)
        if code == .invalidValue { #expect(error.field == "FN") }
    }

    @Test(
        "structure that is not one flat vCard is refused as malformedLine",
        arguments: [
            // A nested card, text after the end, two cards, a mismatched end.
            ["BEGIN:VCARD", "VERSION:4.0", "BEGIN:VCARD", "FN:Inner", "END:VCARD", "END:VCARD"],
            ContactCardFixture.lines() + ["FN:after the end"],
            ContactCardFixture.lines() + ContactCardFixture.lines(),
            Array(ContactCardFixture.lines().dropLast()) + ["END:VCALENDAR"],
        ]
    )
    func structure(lines: [String]) {
        #expect(refusal(Self.card(lines))?.code == .malformedLine)
    }

    @Test(
        "lines that break the content-line syntax are refused with their number",
        arguments: [
            "no colon here", ":value without a name", "FN;:Ada", "FN;=x:Ada", "FN;LANGUAGE=\"en:Ada",
            "F N:Ada", "a.b.FN:Ada", ".FN:Ada", "FN;LANGUAGE", "FN;A=1\"x\":Ada", "Fé:Ada",
            "X-A" + String(repeating: ";P=1", count: 17) + ":v",
        ]
    )
    func malformedLine(line: String) throws {
        let lines = Fixture.lines(extra: [line])
        let error = try #require(refusal(Self.card(lines)))
        #expect(error.code == .malformedLine)
        #expect(error.line == 6)
        #expect(error.message.contains("Line 6"))
    }

    @Test("a continuation with nothing to continue is refused")
    func danglingContinuation() {
        #expect(refusal(" BEGIN:VCARD\r\n")?.code == .notAVCard)
        #expect(refusal(Self.card(Fixture.lines(extra: ["", " continued"])))?.code == .malformedLine)
    }

    @Test(
        "endpoints, emails and peer names of the wrong shape are refused as invalidValue",
        arguments: [
            "X-PEERCOLLAB-ENDPOINT:192.0.2.1", "X-PEERCOLLAB-ENDPOINT:192.0.2.1:0", "X-PEERCOLLAB-ENDPOINT:192.0.2.1:65536",
            "X-PEERCOLLAB-ENDPOINT:192.0.2.1:+80", "X-PEERCOLLAB-ENDPOINT:192.0.2.1:080080", "X-PEERCOLLAB-ENDPOINT:::1:80",
            "X-PEERCOLLAB-ENDPOINT:[::1:80", "X-PEERCOLLAB-ENDPOINT:[host]:80", "X-PEERCOLLAB-ENDPOINT:[::1]80",
            "X-PEERCOLLAB-ENDPOINT:bad_host:80", "X-PEERCOLLAB-ENDPOINT:-a:80", "X-PEERCOLLAB-ENDPOINT:[1::2::3]:80",
            "X-PEERCOLLAB-ENDPOINT:[1:2:3:4:5:6:7:8:9]:80", "X-PEERCOLLAB-ENDPOINT:[:1:2:3:4:5:6:7:8]:80",
            "X-PEERCOLLAB-ENDPOINT:[::g]:80", "X-PEERCOLLAB-ENDPOINT::80", "X-PEERCOLLAB-ENDPOINT:[fe80::1%]:80",
            "EMAIL:", "EMAIL:ada", "EMAIL:@example.org", "EMAIL:ada@", "EMAIL:ada lovelace@example.org",
            "EMAIL:" + String(repeating: "a", count: 250) + "@b.cd", "EMAIL:" + String(repeating: "a", count: 65) + "@b.cd",
        ]
    )
    func badShapes(line: String) throws {
        let error = try #require(refusal(Self.card(Fixture.lines(extra: [line]))))
        #expect(error.code == .invalidValue)
        #expect(error.line == 6)
    }

    @Test("peer names outside letters, digits and hyphens, or over 63 characters, are refused")
    func badPeerNames() {
        for name in ["", "pc_1", "pc 1", "pé", "pc.1", String(repeating: "p", count: 64)] {
            let lines = Fixture.lines().map { $0.hasPrefix("X-PEERCOLLAB-PEERNAME") ? "X-PEERCOLLAB-PEERNAME:" + name : $0 }
            #expect(refusal(Self.card(lines))?.code == .invalidValue, "peer name \"\(name)\"")
        }
    }

    @Test("the same endpoint twice, or more than 32 endpoints, is refused")
    func endpointCounts() throws {
        let twice = ["X-PEERCOLLAB-ENDPOINT:192.0.2.1:80", "X-PEERCOLLAB-ENDPOINT:192.0.2.1:80"]
        #expect(refusal(Self.card(Fixture.lines(extra: twice)))?.code == .repeatedField)
        let many = (1...33).map { "X-PEERCOLLAB-ENDPOINT:192.0.2.1:\($0)" }
        #expect(refusal(Self.card(Fixture.lines(extra: many)))?.code == .tooLarge)
        #expect(try ContactCard(parsing: Self.card(Fixture.lines(extra: Array(many.prefix(32))))).endpoints.count == 32)
    }

    @Test("every cut-off prefix of a card is refused")
    func truncation() throws {
        let text = ContactCardFixture.card.encode()
        let bytes = Array(text.utf8)
        let endRange = try #require(text.range(of: "END:VCARD"))
        let end = text.utf8.distance(from: text.utf8.startIndex, to: endRange.lowerBound)
        for length in 0..<end {
            let prefix = String(decoding: bytes[..<length], as: UTF8.self)
            #expect(refusal(prefix) != nil, "a card cut at byte \(length) was accepted")
        }
    }

    @Test("random damage to a card yields a typed error or a card that validates and round-trips")
    func mutations() throws {
        let original = Array(ContactCardFixture.card.encode(revision: ContactCardFixture.revision).utf8)
        let interesting: [[UInt8]] = [
            Array("\r\n".utf8), Array("\r\n ".utf8), Array(":".utf8), Array(";".utf8), Array(",".utf8),
            Array("\\".utf8), Array("\"".utf8), Array("=".utf8), Array("BEGIN:VCARD\r\n".utf8), [0], [0x7F],
            Array("€".utf8), Array("FN:x\r\n".utf8), Array("\u{202E}".utf8),
        ]
        var generator = SplitMix64(seed: 0x5EED)
        var accepted = 0
        for _ in 0..<3_000 {
            var bytes = original
            for _ in 0...Int.random(in: 0..<3, using: &generator) {
                let position = Int.random(in: 0...bytes.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0 where position < bytes.count:
                    bytes[position] = UInt8.random(in: 0...255, using: &generator)
                case 1:
                    let length = Int.random(in: 1...40, using: &generator)
                    bytes.removeSubrange(position..<min(bytes.count, position + length))
                case 2:
                    bytes.insert(contentsOf: interesting.randomElement(using: &generator)!, at: position)
                default:
                    let from = Int.random(in: 0..<bytes.count, using: &generator)
                    bytes.insert(contentsOf: bytes[from..<min(bytes.count, from + 30)], at: position)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let card: ContactCard
            do {
                card = try ContactCard(parsing: text)
            } catch {
                #expect(!error.message.isEmpty)
                continue
            }
            accepted += 1
            #expect(throws: Never.self) { try card.validate() }
            #expect(try ContactCard(parsing: card.encode()) == card)
        }
        // Some damage (in REV, N, PRODID) is harmless; if nothing parsed, the test proved little.
        #expect(accepted > 0)
    }
}
