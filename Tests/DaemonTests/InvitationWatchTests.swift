import DBus
import Foundation
import Testing
import TestSupport

/// `peercollabctl watch` follows invitations: those there when it starts, new ones, their
/// state changes and their withdrawal, as text lines and as JSON.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct InvitationWatchTests {
    @Test func watchShowsInvitationsComingChangingAndGoing() async throws {
        let pair = try await InvitationPair(settingsA: #"{"invitationRetentionSeconds": 1}"#, settingsB: #"{"invitationsPerSecondPerPeer": 1000}"#)
        let before = try await pair.invite(message: "before watching")
        let beforeOnB = try await pair.incomingOnB(message: "before watching")
        let json = try Subprocess(ProcessRunner.ctlPath, ["watch", "--json", "--bus", pair.a.bus.address], captureOutput: true)
        let text = try Subprocess(ProcessRunner.ctlPath, ["watch", "--bus", pair.a.bus.address], captureOutput: true)
        defer {
            json.signal(SIGTERM)
            text.signal(SIGTERM)
        }
        // Each prints the snapshot after subscribing: the pending invitation as added.
        var jsonLines = json.readStandardOutput(until: .now + .seconds(20)) { $0.contains(before.rawValue) }
        var textLines = text.readStandardOutput(until: .now + .seconds(20)) { $0.contains(before.rawValue) }
        #expect(jsonLines.contains(#""event":"added","path":"\#(before.rawValue)""#), "\(jsonLines)")
        #expect(textLines.contains("+ \(before.rawValue)"), "\(textLines)")
        #expect(textLines.contains("State=pending"), "\(textLines)")

        // A new invitation comes, the first one is declined and then withdrawn (retention 1 s).
        let after = try await pair.invite(message: "while watching")
        try await pair.call(pair.b, beforeOnB, "Decline")
        try await pair.waitForState(pair.a, before, "declined")
        let removed = #""event":"removed","path":"\#(before.rawValue)""#
        jsonLines += json.readStandardOutput(until: .now + .seconds(20)) { $0.contains(removed) }
        textLines += text.readStandardOutput(until: .now + .seconds(20)) { $0.contains("- \(before.rawValue)") }
        #expect(jsonLines.contains(#""event":"added","path":"\#(after.rawValue)""#), "\(jsonLines)")
        #expect(jsonLines.contains(#"{"event":"changed","path":"\#(before.rawValue)""#), "\(jsonLines)")
        #expect(jsonLines.contains(#""State":"declined""#), "\(jsonLines)")
        #expect(jsonLines.contains(removed), "\(jsonLines)")
        #expect(textLines.contains("+ \(after.rawValue)"), "\(textLines)")
        #expect(textLines.contains("~ \(before.rawValue)"), "\(textLines)")
        #expect(textLines.contains("State=declined"), "\(textLines)")
        #expect(textLines.contains("- \(before.rawValue)"), "\(textLines)")
        // Every JSON line is an object of its own.
        for line in jsonLines.split(separator: "\n") {
            #expect(line.hasPrefix("{\"event\":") && line.hasSuffix("}"), "\(line)")
        }
    }
}
