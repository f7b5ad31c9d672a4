import PeerProtocol
import Testing

@testable import Collaboration

/// Names and messages that could hide or reorder text: refused when I set them, stripped
/// when a peer sends them.
@Suite struct InvisibleCharactersTests {
    static let invisible: [UInt32] = [
        0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F, 0x061C,
        0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0xE0041,
    ]

    @Test(arguments: invisible)
    func aDisplayNameWithOneIsRefusedSayingWhichAndWhere(value: UInt32) throws {
        let scalar = try #require(Unicode.Scalar(value))
        let name = "Ad" + String(Character(scalar)) + "a"
        let error = #expect(throws: CollaborationError.self) { try DisplayName.validated(name) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("\(scalar.codePointDescription) at position 3") == true, "\(error?.message ?? "")")
        #expect(InvisibleCharacters.stripped(name) == "Ada")
    }

    @Test func visibleNamesStayValidEmojiSequencesIncluded() throws {
        for name in ["Ada Lovelace", "Zoë", "أحمد", "שלום", "李小龍", "👩‍💻 Ada", "🏳️‍🌈", "👩🏽‍🔬", "👨‍👩‍👧"] {
            #expect(try DisplayName.validated(name) == name)
            #expect(InvisibleCharacters.stripped(name) == name)
            #expect(InvisibleCharacters.first(in: name) == nil)
        }
        // A joiner between letters is invisible, between an emoji and a letter too.
        #expect(InvisibleCharacters.first(in: "A\u{200D}da")?.position == 2)
        #expect(InvisibleCharacters.first(in: "👩\u{200D}a")?.position == 2)
        #expect(InvisibleCharacters.first(in: "\u{200D}👩")?.position == 1)
    }

    @Test func aPeersProfileAndPresenceLoseThem() {
        let profile = PeerProfile(
            displayName: "Mallory\u{202E}gnp.exe",
            presence: PeerPresence(status: .busy, message: "in a\u{200B} meet\u{2067}ing\u{7}"))
        let shown = PresenceRules.sanitized(profile)
        #expect(shown.displayName == "Mallorygnp.exe")
        #expect(shown.presence.message == "in a meeting\u{FFFD}")
        #expect(shown.presence.status == .busy)
        let empty = PresenceRules.sanitized(PeerProfile(displayName: "\u{200B}\u{FEFF}", presence: PeerPresence(status: .online)))
        #expect(empty.displayName == "\u{FFFD}")
    }

    @Test func aContactCardNameWithOneIsRefusedWithItsPosition() {
        let error = #expect(throws: ContactCardError.self) { try ContactCard.validateDisplayName("Eve\u{2060}") }
        #expect(error?.message.contains("U+2060 at position 4") == true, "\(error?.message ?? "")")
        #expect((try? ContactCard.validateDisplayName("👩‍💻 Ada")) != nil)
    }
}
