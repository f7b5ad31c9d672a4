import Foundation
import Testing
@testable import Collaboration

/// Every setting the daemon writes comes back when the file is read: a key the decoder does
/// not know would be dropped as "unknown" at the next start (sign-in kept across restarts
/// was lost that way once).
@Suite struct SettingsRoundTripTests {
    @Test func everySettingWrittenIsReadBackAndNothingIsIgnored() throws {
        var settings = Settings(displayName: "Ada", email: "ada@example.org")
        settings.discoveryBackend = "builtin"
        settings.allowInterfaces = ["eth0"]
        settings.denyInterfaces = ["docker0"]
        settings.invitationPolicy = .contacts
        settings.invitationRetentionSeconds = 30
        settings.invitationNotifications = false
        settings.invitationPendingPerPeer = 3
        settings.invitationsPerSecondPerPeer = 0.5
        settings.autoIdle = false
        settings.signInAutomatically = false
        settings.keptSignIn = ["internet", "near-me"]
        settings.keptPresence = KeptPresence(status: "busy", message: "Drawing")
        let data = try JSONEncoder().encode(settings)
        let read = try JSONDecoder().decode(Settings.self, from: data)
        #expect(read.ignored.isEmpty, "ignored: \(read.ignored)")
        #expect(read == settings)
        // Every key the encoder wrote is one the decoder knows.
        let written = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(written.keys) == Set(Settings.CodingKeys.allCases.map(\.rawValue)))
    }
}
