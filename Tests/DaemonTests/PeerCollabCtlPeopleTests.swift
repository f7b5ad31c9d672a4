import DBus
import Foundation
import PeerCollabAPI
import Testing
import TestSupport

/// peercollabctl between daemons on loopback: naming people (one resolver for every verb),
/// the verbs that need someone connected, and the exit statuses of `invite --wait` and `wait`.
@Suite(.serialized) struct PeerCollabCtlPeopleTests {
    /// The id of the first invitation `host` lists that `matches`, once there.
    func invitation(on host: CtlHost, _ what: String, _ matches: @escaping ([String: Any]) -> Bool) async throws -> String {
        try await eventually(what) { () async throws -> String? in
            let list = try await host.ctl(["invitations", "--json"])
            let items = (try? JSONSerialization.jsonObject(with: Data(list.standardOutput.utf8)) as? [[String: Any]]) ?? []
            return items.first(where: matches)?["Id"] as? String
        }
    }

    @Test func everyVerbThatTakesAPersonFindsThemTheSameWay() async throws {
        let a = try await CtlHost(name: "Ada Lovelace")
        let b = try await CtlHost(name: "Bob Babbage")
        let c = try await CtlHost(name: "Bob Builder")
        let nameB = try await b.peerName
        let nameC = try await c.peerName
        // A contact who calls itself what peer C calls itself, with another key, not connected.
        let other = try ContactCards.person("Bob Builder")
        _ = try await a.client.addContact(other.card())

        let connected = try await a.ctl(["connect", try await b.link()])
        #expect(connected.status == 0 && connected.standardOutput.contains("Verification code:"), "\(connected.standardError)")
        try CtlShape.object(try await a.ctl(["connect", try await c.link(), "--json"]).standardOutput, CtlShape.peer, "connect --json")
        let near = try await a.ctl(["near", "--json"])
        #expect(try CtlShape.array(near.standardOutput, CtlShape.peer, "near --json").count == 2)

        // Exact peer name, its prefix, an exact display name in any case, a unique prefix of one.
        for (typed, expected) in [(nameB, nameB), (String(nameB.prefix(5)).uppercased(), nameB), ("bob babbage", nameB), ("BOB BA", nameB), ("Bob Bu", nil)] {
            let output = try await a.ctl(["refresh", typed, "--json"])
            if let expected {
                let object = try CtlShape.object(output.standardOutput, CtlShape.peer, "refresh \(typed)")
                #expect(object["PeerName"] as? String == expected, "refresh \(typed)")
            } else {
                // "Bob Bu" starts both the peer and the contact called Bob Builder.
                let failure = try CtlShape.failure(output, Failure.ambiguous, status: 1, "refresh \(typed)", candidates: true)
                let names = Set(((failure["candidates"] as? [[String: Any]]) ?? []).compactMap { $0["PeerName"] as? String })
                #expect(names == [nameC, other.peerName], "\(failure)")
            }
        }
        // Ambiguous and none, as text: the candidates with name, peer name and whether a contact.
        let ambiguous = try await a.ctl(["invite", "bob", "org.example.Chat"])
        #expect(ambiguous.status == 1)
        #expect(ambiguous.standardError.contains("matches 3 people"), "\(ambiguous.standardError)")
        for line in ["Bob Babbage  \(nameB)  (stranger, connected)", "Bob Builder  \(nameC)  (stranger, connected)",
                     "Bob Builder  \(other.peerName)  (verified contact, not connected)"] {
            #expect(ambiguous.standardError.contains(line), "\(ambiguous.standardError)")
        }
        let none = try await a.ctl(["invite", "Zed", "org.example.Chat"])
        #expect(none.status == 1)
        #expect(none.standardError.contains("matches \"Zed\""), "\(none.standardError)")
        #expect(none.standardError.contains(nameB), "the candidates are listed: \(none.standardError)")
        try CtlShape.failure(try await a.ctl(["object", "list", "Zed", "--json"]), PeerCollabErrorName.notFound.busName, status: 1, "object list Zed", candidates: true)

        // A contact and a peer with the same display name: a verb for contacts takes the
        // contact, a verb for peers takes the peer, and one for either lists both.
        let show = try await a.ctl(["contact", "show", "bob builder", "--json"])
        #expect(try CtlShape.object(show.standardOutput, CtlShape.contact, "contact show")["PeerName"] as? String == other.peerName)
        let listed = try await a.ctl(["object", "list", "Bob Builder", "--json"])
        #expect(try CtlShape.object(listed.standardOutput, CtlShape.peer, "object list")["PeerName"] as? String == nameC)
        let both = try await a.ctl(["invite", "Bob Builder", "org.example.Chat", "--json"])
        try CtlShape.failure(both, Failure.ambiguous, status: 1, "invite Bob Builder", candidates: true)
        // A peer who is not a contact, named to a contact verb: said so, with how to add them.
        let notContact = try await a.ctl(["contact", "show", "bob babbage"])
        #expect(notContact.status == 1)
        #expect(notContact.standardError.contains("is not one of your contacts"), "\(notContact.standardError)")
        #expect(notContact.standardError.contains("contact add-peer \(nameB)"), "\(notContact.standardError)")

        // Add to contacts (Windows' verb), then the same name finds the contact for contact verbs.
        let added = try await a.ctl(["contact", "add-peer", "bob babbage", "--json"])
        let contact = try CtlShape.object(added.standardOutput, CtlShape.contact, "contact add-peer")
        #expect(contact["Verified"] as? Bool == false)
        #expect(contact["PeerName"] as? String == nameB)
        let verify = try await a.ctl(["contact", "verify", "babbage", "--yes"])
        #expect(verify.status == 1, "\"babbage\" starts no name: \(verify.standardOutput)")
        #expect(try await a.ctl(["contact", "verify", "Bob Babbage", "--yes"]).status == 0)
        let refreshed = try await a.ctl(["refresh", "bob babbage"])
        #expect(refreshed.standardOutput == "Bob Babbage is connected.\n", "\(refreshed.standardError)")
    }

    @Test func invitationVerbsAndTheExitStatusesOfWaiting() async throws {
        let a = try await CtlHost(name: "Ada Lovelace")
        let b = try await CtlHost(name: "Bob Babbage", settings: #"{"invitationsPerSecondPerPeer": 1000}"#)
        #expect(try await b.ctl(["app", "register", "org.example.Chat", "--name", "Chat"]).status == 0)
        try await a.connect(to: b)
        let app = "org.example.Chat"

        // 3: expired (nobody answers within the second).
        let expired = try await a.ctl(["invite", "bob", app, "--timeout", "1", "--wait", "--json"])
        #expect(expired.status == 3, "\(expired.standardError)")
        #expect(try CtlShape.object(expired.standardOutput, CtlShape.invitation, "invite --wait --json")["State"] as? String == "expired")

        // 2: declined on B's command line; A's `wait` tells it.
        let sent = try await a.ctl(["invite", "bob", app, "--message", "chess?", "--json"])
        let id = try #require(try CtlShape.object(sent.standardOutput, CtlShape.invitation, "invite --json")["Id"] as? String)
        let shown = try await a.ctl(["invitations", "show", id])
        #expect(shown.standardOutput.contains("chess?"), "\(shown.standardOutput)")
        try CtlShape.object(try await a.ctl(["invitations", "show", id, "--json"]).standardOutput, CtlShape.invitation, "invitations show")
        try CtlShape.array(try await b.ctl(["invitations", "--json"]).standardOutput, CtlShape.invitation, "invitations --json")
        let incoming = try await invitation(on: b, "B has the invitation") { $0["Message"] as? String == "chess?" }
        let declined = try await b.ctl(["decline", incoming, "--json"])
        try CtlShape.object(declined.standardOutput, CtlShape.invitation, "decline --json")
        let waited = try await a.ctl(["wait", id])
        #expect(waited.status == 2 && waited.standardOutput == "declined\n", "\(waited.standardOutput)\(waited.standardError)")

        // 0: accepted.
        let second = try await a.ctl(["invite", "Bob Babbage", app, "--message", "go?"])
        let secondPath = second.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let incomingSecond = try await invitation(on: b, "B has the second invitation") { $0["Message"] as? String == "go?" }
        let accepted = try await b.ctl(["accept", incomingSecond, "--json"])
        #expect(try CtlShape.object(accepted.standardOutput, CtlShape.invitation, "accept --json")["State"] as? String == "accepted")
        #expect(try await a.ctl(["wait", secondPath]).status == 0)

        // 4: cancelled from the command line.
        let third = try await a.ctl(["invite", "bob", app, "--message", "later", "--json"])
        let thirdID = try #require(try CtlShape.object(third.standardOutput, CtlShape.invitation, "invite")["Id"] as? String)
        try CtlShape.object(try await a.ctl(["cancel", thirdID, "--json"]).standardOutput, CtlShape.invitation, "cancel --json")
        let cancelled = try await a.ctl(["wait", thirdID, "--json"])
        #expect(cancelled.status == 4)
        #expect(try CtlShape.object(cancelled.standardOutput, CtlShape.invitation, "wait --json")["State"] as? String == "cancelled")

        // 5: failed, with the reason.
        let failed = try await a.ctl(["invite", "bob", "org.example.Nope", "--wait"])
        #expect(failed.status == 5)
        #expect(failed.standardOutput.contains("not registered"), "\(failed.standardOutput)")

        // Answering again, and an invitation that is not there: exit 1, as JSON too.
        try CtlShape.failure(try await b.ctl(["accept", incoming, "--json"]), PeerCollabErrorName.invalidState.busName, status: 1, "accept again")
        try CtlShape.failure(try await a.ctl(["wait", "0123456789abcdef0123456789abcdef", "--json"]), PeerCollabErrorName.notFound.busName, status: 1, "wait unknown")

        // An over-long message and an over-long data file fail the same way.
        let longMessage = try await a.ctl(["invite", "bob", app, "--message", String(repeating: "m", count: 1025), "--json"])
        try CtlShape.failure(longMessage, PeerCollabErrorName.invalidArgument.busName, status: 1, "message of 1,025 bytes")
        let file = a.daemon.home.appendingPathComponent("big.bin")
        try Data(count: APIValues.maximumObjectBytes + 1).write(to: file)
        let longData = try await a.ctl(["invite", "bob", app, "--data-file", file.path, "--json"])
        try CtlShape.failure(longData, PeerCollabErrorName.invalidArgument.busName, status: 1, "data of 64 KiB + 1")
        let longObject = try await a.ctl(["object", "set", "big", file.path, "--json"])
        try CtlShape.failure(longObject, PeerCollabErrorName.invalidArgument.busName, status: 1, "object of 64 KiB + 1")
    }

    @Test func objectsOfAContactAreListedAndFetched() async throws {
        let a = try await CtlHost(name: "Ada Lovelace")
        let b = try await CtlHost(name: "Bob Babbage")
        try await a.connect(to: b)
        let nameA = try await a.peerName
        // Over the internet scope B shows its objects to a contact it allows who subscribed.
        _ = try await eventually("B sees A") { try await b.ctl(["contact", "add-peer", nameA]).status == 0 ? true : nil }
        #expect(try await b.ctl(["contact", "allow", nameA]).status == 0)
        #expect(try await a.ctl(["contact", "add-peer", "bob"]).status == 0)
        let file = b.daemon.home.appendingPathComponent("avatar")
        try "a picture".write(to: file, atomically: true, encoding: .utf8)
        #expect(try await b.ctl(["object", "set", "avatar", file.path]).status == 0)
        let listed = try await eventually("A lists B's object") { () async throws -> ProcessRunner.Output? in
            let output = try await a.ctl(["object", "list", "bob"])
            return output.standardOutput == "avatar\n" ? output : nil
        }
        #expect(listed.status == 0)
        try CtlShape.object(try await a.ctl(["object", "list", "bob", "--json"]).standardOutput, CtlShape.peer, "object list bob --json")
        #expect(try await a.ctl(["object", "get", "bob", "avatar"]).standardOutput == "a picture")
        let got = try await a.ctl(["object", "get", "bob", "avatar", "--json"])
        let object = try CtlShape.object(got.standardOutput, CtlShape.object, "object get --json")
        #expect(object["Size"] as? Int == 9)
    }
}

/// The failure names peercollabctl gives what it finds itself (docs/cli.md).
enum Failure {
    static let ambiguous = "org.peercollab.peercollabctl.Error.Ambiguous"
    static let usage = "org.peercollab.peercollabctl.Error.Usage"
}
