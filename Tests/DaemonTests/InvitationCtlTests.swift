import DBus
import Foundation
import Testing
import TestSupport

/// peercollabctl's application and invitation verbs against real daemons.
@Suite(.serialized) struct InvitationCtlTests {
    func ctl(_ bus: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> ProcessRunner.Output {
        try await ProcessRunner.run(ProcessRunner.ctlPath, arguments + ["--bus", bus], timeout: timeout)
    }

    @Test func appRegisterListAndUnregister() async throws {
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        // --exec takes everything after it, so --bus goes before it.
        let registered = try await ProcessRunner.run(
            ProcessRunner.ctlPath,
            ["app", "register", "org.example.Chat", "--name", "Chat", "--scope", "near-me", "--bus", bus.address, "--exec", "/usr/bin/chat", "--room", "x"])
        #expect(registered.status == 0, "\(registered.standardError)")
        let apps = try await ctl(bus.address, ["apps"])
        #expect(apps.standardOutput.contains("org.example.Chat"), "\(apps.standardOutput)")
        #expect(apps.standardOutput.contains("/usr/bin/chat --room x"), "\(apps.standardOutput)")
        let json = try await ctl(bus.address, ["apps", "--json"])
        #expect(json.standardOutput.contains("\"Scope\":\"near-me\""), "\(json.standardOutput)")
        let bad = try await ctl(bus.address, ["app", "register", "chat", "--name", "Chat"])
        #expect(bad.status == 1)
        #expect(bad.standardError.contains("reverse-DNS"), "\(bad.standardError)")
        #expect(try await ctl(bus.address, ["app", "unregister", "org.example.Chat"]).status == 0)
        #expect(try await ctl(bus.address, ["app", "unregister", "org.example.Chat"]).status == 1)
        #expect(try await ctl(bus.address, ["apps"]).standardOutput.contains("No applications"))
    }

    @Test(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
    func inviteWaitExitStatusTellsTheOutcome() async throws {
        let pair = try await InvitationPair(settingsB: #"{"invitationsPerSecondPerPeer": 1000}"#)
        let nameB = try await pair.b.peerName
        // Expired: exit 3.
        let expired = try await ctl(pair.a.bus.address, ["invite", nameB, InvitationPair.app, "--timeout", "1", "--wait"])
        #expect(expired.status == 3, "\(expired.standardOutput)\(expired.standardError)")
        #expect(expired.standardOutput.hasPrefix("expired"))
        // Declined from B's command line while A waits: exit 2.
        async let declined = ctl(pair.a.bus.address, ["invite", nameB, InvitationPair.app, "--message", "chess?", "--wait"])
        let incoming = try await pair.incomingOnB(message: "chess?")
        let list = try await ctl(pair.b.bus.address, ["invitations"])
        #expect(list.standardOutput.contains("chess?"), "\(list.standardOutput)")
        let id = incoming.rawValue.split(separator: "/").last.map(String.init) ?? ""
        #expect(try await ctl(pair.b.bus.address, ["decline", id]).status == 0)
        #expect(try await declined.status == 2)
        // Answering again is refused.
        let again = try await ctl(pair.b.bus.address, ["accept", id])
        #expect(again.status == 1)
        #expect(again.standardError.contains("already declined"), "\(again.standardError)")
        // Accepted: exit 0; failed (unknown application): exit 5 with the reason.
        async let accepted = ctl(pair.a.bus.address, ["invite", nameB, InvitationPair.app, "--message", "go?", "--wait"])
        let second = try await pair.incomingOnB(message: "go?")
        #expect(try await ctl(pair.b.bus.address, ["accept", second.rawValue]).status == 0)
        #expect(try await accepted.status == 0)
        let failed = try await ctl(pair.a.bus.address, ["invite", nameB, "org.example.Nope", "--wait"])
        #expect(failed.status == 5)
        #expect(failed.standardOutput.contains("not registered"), "\(failed.standardOutput)")
        // Cancel from the command line: the waiting inviter exits 4.
        let sent = try await ctl(pair.a.bus.address, ["invite", nameB, InvitationPair.app, "--message", "later"])
        let path = sent.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        async let waited = ctl(pair.a.bus.address, ["invite", nameB, InvitationPair.app, "--message", "cancel me", "--wait"])
        _ = try await pair.incomingOnB(message: "cancel me")
        let mine = try await InvitationPair.waitFor("the outgoing 'cancel me'", on: pair.a) { invitations in
            invitations.first { $0.value["Message"]?.stringValue == "cancel me" }?.key
        }
        #expect(try await ctl(pair.a.bus.address, ["cancel", mine.rawValue]).status == 0)
        #expect(try await waited.status == 4)
        #expect(path.hasPrefix("/org/peercollab/PeerCollab1/invitation/"))
    }
}
