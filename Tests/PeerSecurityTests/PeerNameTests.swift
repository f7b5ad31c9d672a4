import Testing

@testable import PeerSecurity

@Suite struct PeerNameTests {
    let sampleKey: [UInt8] = Array("an example SubjectPublicKeyInfo".utf8)

    @Test func roundTripsThroughItsText() throws {
        let name = PeerName(publicKeyDER: sampleKey)
        let text = name.description
        #expect(text.count == 33)
        #expect(try PeerName(parsing: text) == name)
        #expect(name.bytes == Array(OpenSSLSupport.sha256(sampleKey).prefix(20)))
    }

    @Test func isAValidDNSLabel() {
        for seed in 0..<200 {
            let text = PeerName(publicKeyDER: sampleKey + [UInt8(seed & 0xFF), UInt8(seed >> 8)]).description
            #expect(text.count <= 63)
            #expect(text.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D })
            #expect(text.first != "-" && text.last != "-")
        }
    }

    @Test func parsingIgnoresCaseAndSeparators() throws {
        let name = PeerName(publicKeyDER: sampleKey)
        let text = name.description
        #expect(try PeerName(parsing: text.uppercased()) == name)
        var grouped = ""
        for (index, character) in text.enumerated() {
            if index > 0 && index % 4 == 0 { grouped += "-" }
            grouped.append(character)
        }
        #expect(try PeerName(parsing: grouped) == name)
    }

    @Test func rejectsEverySingleWrongCharacter() {
        let text = Array(PeerName(publicKeyDER: sampleKey).description)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        for position in text.indices {
            for replacement in alphabet where replacement != text[position] {
                var typo = text
                typo[position] = replacement
                #expect(throws: PeerSecurityError.self) { try PeerName(parsing: String(typo)) }
            }
        }
    }

    @Test func rejectsSwappedNeighbours() {
        let text = Array(PeerName(publicKeyDER: sampleKey).description)
        for position in 0..<(text.count - 1) where text[position] != text[position + 1] {
            var typo = text
            typo.swapAt(position, position + 1)
            #expect(throws: PeerSecurityError.self) { try PeerName(parsing: String(typo)) }
        }
    }

    @Test func wrongCheckCharacterSaysSo() throws {
        var text = Array(PeerName(publicKeyDER: sampleKey).description)
        text[32] = text[32] == "a" ? "b" : "a"
        let error = #expect(throws: PeerSecurityError.self) { try PeerName(parsing: String(text)) }
        #expect(error?.code == .invalidPeerName)
        #expect(error?.message.contains("check character") == true)
    }

    @Test(arguments: [
        "", "a", String(repeating: "a", count: 32), String(repeating: "a", count: 34),
        "0000000000000000000000000000000001",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "ааааааааааааааааааааааааааааааааа", "aaaa\u{0}aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "-----", "🙂🙂🙂",
    ])
    func rejectsHostileText(_ text: String) {
        #expect(throws: PeerSecurityError.self) { try PeerName(parsing: text) }
        #expect(PeerName(text) == nil)
    }

    @Test func rejectsVeryLongTextWithoutReadingItAll() {
        let error = #expect(throws: PeerSecurityError.self) { try PeerName(parsing: String(repeating: "a", count: 1_000_000)) }
        #expect(error?.message.contains("longer than 33") == true)
        #expect((error?.message.count ?? 0) < 300)
    }

    @Test func theDocumentedExampleParses() throws {
        #expect(try PeerName(parsing: "bjbn5jq63hh4scc5yfu4vkkqzkcqdos53").description == "bjbn5jq63hh4scc5yfu4vkkqzkcqdos53")
    }

    @Test func allZeroNameIsValid() throws {
        // 32 'a's are 160 zero bits, whose check symbol is 'a' too.
        let name = try PeerName(parsing: String(repeating: "a", count: 33))
        #expect(name.bytes == [UInt8](repeating: 0, count: 20))
    }
}

@Suite struct VerificationCodeTests {
    let alice: [UInt8] = Array("alice's SubjectPublicKeyInfo".utf8)
    let bob: [UInt8] = Array("bob's SubjectPublicKeyInfo".utf8)
    let mallory: [UInt8] = Array("mallory's SubjectPublicKeyInfo".utf8)

    @Test func bothSidesSeeTheSameCode() {
        #expect(VerificationCode(local: alice, remote: bob) == VerificationCode(local: bob, remote: alice))
    }

    @Test func anotherKeyGivesAnotherCode() {
        let genuine = VerificationCode(local: alice, remote: bob)
        #expect(VerificationCode(local: alice, remote: mallory) != genuine)
        #expect(VerificationCode(local: mallory, remote: bob) != genuine)
    }

    @Test func showsSixDigitsInTwoGroups() {
        for key in [alice, bob, mallory, []] {
            let text = VerificationCode(local: key, remote: bob).description
            #expect(text.count == 7)
            #expect(Array(text)[3] == " ")
            let digits = text.filter { $0 != " " }
            #expect(digits.allSatisfy { $0.isNumber })
        }
        // Leading zeros are kept, so every code has six digits.
        var found = false
        for index in 0..<5000 where !found {
            let code = VerificationCode(local: alice, remote: Array("k\(index)".utf8))
            if code.value < 100_000 {
                found = true
                #expect(code.description.hasPrefix("0"))
            }
        }
        #expect(found)
    }

    @Test func keysThatConcatenateAlikeStayApart() {
        // The length prefixes keep ("ab", "c") and ("a", "bc") apart.
        let a = VerificationCode(local: Array("ab".utf8), remote: Array("c".utf8))
        let b = VerificationCode(local: Array("a".utf8), remote: Array("bc".utf8))
        #expect(a != b)
    }
}
