import DBus
import Foundation
import PeerCollabAPI
import Testing

/// Every verb of peercollabctl that one daemon can answer alone, as text and as `--json`,
/// each JSON answer checked against its documented shape (docs/cli.md).
@Suite struct PeerCollabCtlVerbTests {
    /// Runs the verb as text (status 0, `text` holds of stdout) and with `--json` (status 0,
    /// one object of `shape`, or an array of them when `array`); returns the JSON.
    @discardableResult
    func both(
        _ host: CtlHost, _ arguments: [String], text: [String]? = nil, json jsonArguments: [String]? = nil, _ shape: Set<String>,
        array: Bool = false, expect check: (String) -> Bool = { _ in true }, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Any {
        let what = arguments.joined(separator: " ")
        let plain = try await host.ctl(text ?? arguments)
        #expect(plain.status == 0, "\(what): \(plain.standardError)", sourceLocation: sourceLocation)
        #expect(check(plain.standardOutput), "\(what): \(plain.standardOutput)", sourceLocation: sourceLocation)
        let json = try await host.ctl((jsonArguments ?? arguments) + ["--json"])
        #expect(json.status == 0, "\(what) --json: \(json.standardError)", sourceLocation: sourceLocation)
        return array
            ? try CtlShape.array(json.standardOutput, shape, what + " --json", sourceLocation: sourceLocation)
            : try CtlShape.object(json.standardOutput, shape, what + " --json", sourceLocation: sourceLocation)
    }

    @Test func generalVerbsSpeakTextAndTheManagerShape() async throws {
        let host = try await CtlHost(name: "Grace Hopper")
        let me = try await host.peerName
        try await both(host, ["status"], CtlShape.manager) { $0.contains("Display name:     Grace Hopper") }
        try await both(host, ["whoami"], CtlShape.manager) { $0.contains(me) }
        let named = try await both(host, ["set-name", "Grace B. Hopper"], json: ["set-name", "Amazing Grace"], CtlShape.manager) { $0.isEmpty }
        #expect((named as? [String: Any])?["DisplayName"] as? String == "Amazing Grace")
        let mailed = try await both(host, ["set-email", "g@example.org"], json: ["set-email", "grace@example.org"], CtlShape.manager)
        #expect((mailed as? [String: Any])?["Email"] as? String == "grace@example.org")
        #expect(try await host.ctl(["card"]).standardOutput.contains("EMAIL:grace@example.org"))
        try await both(host, ["signout", "internet"], CtlShape.manager) { $0 == "Signed in: no\n" }
        let signed = try await both(host, ["signin", "internet"], CtlShape.manager) { $0 == "Signed in: internet\n" }
        #expect((signed as? [String: Any])?["SignedIn"] as? [String] == ["internet"])
        try await both(host, ["auto-signin"], CtlShape.manager) { $0 == "on\n" }
        let kept = try await both(host, ["auto-signin", "off"], json: ["auto-signin", "on"], CtlShape.manager) { $0.isEmpty }
        #expect((kept as? [String: Any])?["SignInAutomatically"] as? Bool == true)
        #expect(try await host.ctl(["auto-signin", "maybe"]).status == 64)
        let presence = try await both(host, ["presence", "away"], json: ["presence", "busy", "at lunch"], CtlShape.manager) { $0.isEmpty }
        #expect((presence as? [String: Any])?["PresenceStatus"] as? String == "busy")
        try await both(host, ["presence"], CtlShape.manager) { $0 == "busy: at lunch\n" }
        let policy = try await both(host, ["invitations", "policy", "nobody"], json: ["invitations", "policy", "contacts"], CtlShape.manager) { $0.isEmpty }
        #expect((policy as? [String: Any])?["InvitationPolicy"] as? String == "contacts")
        try await both(host, ["invitations", "policy"], CtlShape.manager) { $0 == "contacts\n" }
        let card = try await both(host, ["card"], CtlShape.card) { $0.hasPrefix("BEGIN:VCARD\r\nVERSION:4.0\r\n") }
        #expect((card as? [String: Any])?["PeerName"] as? String == me)
        try await both(host, ["card", "--link"], CtlShape.links) { $0.hasPrefix("peercollab:\(me)@127.0.0.1:") }
        // The QR code is drawn for people; --json gives the links instead.
        let qr = try await both(host, ["card", "--qr"], CtlShape.links) { $0.contains("█") && $0.contains("peercollab:\(me)@") }
        #expect(((qr as? [String: Any])?["Links"] as? [String])?.first?.hasPrefix("peercollab:\(me)@") == true)
        try await both(host, ["near"], CtlShape.peer, array: true) { $0.contains("Nobody reachable yet") }
        try await both(host, ["invitations"], CtlShape.invitation, array: true) { $0 == "No invitations.\n" }
        let doctorText = try await host.ctl(["doctor"])
        #expect(doctorText.standardOutput.hasPrefix("Discovery backend:"), "\(doctorText.standardOutput)")
        let doctor = try await host.ctl(["doctor", "--json"])
        #expect(doctor.status == 0 || doctor.status == 1, "\(doctor.standardError)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(doctor.standardOutput.utf8)) as? [String: Any])
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(!checks.isEmpty)
        for check in checks { #expect(Set(check.keys) == ["subject", "ok", "detail", "advice"]) }
    }

    @Test func contactVerbsSpeakTextAndTheContactShape() async throws {
        let host = try await CtlHost(name: "Grace Hopper")
        let ada = try ContactCards.person("Ada Lovelace")
        let file = host.daemon.home.appendingPathComponent("ada.vcf")
        try ada.card().write(to: file, atomically: true, encoding: .utf8)
        try await both(host, ["contact", "add", file.path], CtlShape.contact) { $0.contains("Added Ada Lovelace (\(ada.peerName)), verified.") }
        try await both(host, ["card", "import", file.path], CtlShape.contact) { $0.contains("Added Ada Lovelace") }
        try await both(host, ["contacts"], CtlShape.contact, array: true) { $0.contains("Ada Lovelace") && $0.contains(ada.peerName) }
        // "ada", the man page's own example, is the start of the display name.
        try await both(host, ["contact", "show", "ada"], CtlShape.contact) { $0.contains("Verification code:") }
        let nick = try await both(host, ["contact", "nick", "ada", "Countess"], json: ["contact", "nick", "ADA LOVELACE", "Countess"], CtlShape.contact) {
            $0.contains("Countess")
        }
        #expect((nick as? [String: Any])?["Nickname"] as? String == "Countess")
        let unverified = try await both(host, ["contact", "unverify", "countess"], CtlShape.contact) { $0.contains("no longer verified") }
        #expect((unverified as? [String: Any])?["Verified"] as? Bool == false)
        let verified = try await both(host, ["contact", "verify", "countess", "--yes"], CtlShape.contact) { $0.contains("is verified") }
        #expect((verified as? [String: Any])?["Verified"] as? Bool == true)
        let denied = try await both(host, ["contact", "deny", "count"], CtlShape.contact) { $0.contains("may no longer see") }
        #expect((denied as? [String: Any])?["SubscribeAllowed"] as? Bool == false)
        let allowed = try await both(host, ["contact", "allow", String(ada.peerName.prefix(5))], CtlShape.contact) { $0.contains("may see") }
        #expect((allowed as? [String: Any])?["SubscribeAllowed"] as? Bool == true)
        let unsubscribed = try await both(host, ["contact", "unsubscribe", "countess"], CtlShape.contact) { $0.contains("no longer followed") }
        #expect((unsubscribed as? [String: Any])?["Subscribed"] as? Bool == false)
        let subscribed = try await both(host, ["contact", "subscribe", "countess"], CtlShape.contact) { $0.contains("is followed") }
        #expect((subscribed as? [String: Any])?["Subscribed"] as? Bool == true)
        // Endpoints: add (idempotent, so text and JSON add the same), list, remove.
        let added = try await both(host, ["contact", "endpoint", "add", "countess", "192.0.2.10", "4001"], CtlShape.contact) { $0.contains("192.0.2.10:4001") }
        #expect(((added as? [String: Any])?["Endpoints"] as? [[Any]])?.contains { $0.first as? String == "192.0.2.10" } == true)
        try await both(host, ["contact", "endpoint", "list", "countess"], CtlShape.contact) { $0 == "192.0.2.9:4000\n192.0.2.10:4001\n" }
        try await both(host, ["contact", "endpoint", "remove", "countess", "192.0.2.10", "4001"],
                       json: ["contact", "endpoint", "add", "countess", "192.0.2.11", "4002"], CtlShape.contact) { $0.contains("no longer dialled") }
        let missing = try await host.ctl(["contact", "endpoint", "remove", "countess", "192.0.2.10", "4001", "--json"])
        try CtlShape.failure(missing, PeerCollabErrorName.notFound.busName, status: 1, "removing an endpoint not listed")
        try await both(host, ["contact", "card", "countess"], CtlShape.card) { $0.hasPrefix("BEGIN:VCARD") && $0.contains("Ada Lovelace") }
        // Refresh of a contact not connected, signed out of the internet scope: the daemon says why.
        _ = try await host.ctl(["signout", "internet"])
        try CtlShape.failure(try await host.ctl(["refresh", "countess", "--json"]), PeerCollabErrorName.notSignedIn.busName, status: 1, "refresh signed out")
        let removedText = try await host.ctl(["contact", "remove", "countess"])
        #expect(removedText.status == 0 && removedText.standardOutput.contains("Removed Countess"), "\(removedText.standardError)")
        try await host.ctl(["contact", "add", "-"], input: ada.card())
        let removed = try await host.ctl(["contact", "remove", "ada", "--json"])
        try CtlShape.object(removed.standardOutput, CtlShape.contact, "contact remove --json")
        #expect(try await host.client.contacts().isEmpty)
    }

    @Test func appAndObjectVerbsSpeakTextAndTheirShapes() async throws {
        let host = try await CtlHost()
        let registered = try await both(
            host, ["app", "register", "org.example.Chat", "--name", "Chat"], json: ["app", "register", "org.example.Board", "--name", "Board"],
            CtlShape.application) { $0.contains("Registered org.example.Chat") }
        #expect((registered as? [String: Any])?["Id"] as? String == "org.example.Board")
        try await both(host, ["apps"], CtlShape.application, array: true) { $0.contains("org.example.Chat") && $0.contains("org.example.Board") }
        try await both(host, ["app", "unregister", "org.example.Chat"], json: ["app", "unregister", "org.example.Board"], CtlShape.application) {
            $0.contains("Unregistered")
        }
        let file = host.daemon.home.appendingPathComponent("note.txt")
        try "hello".write(to: file, atomically: true, encoding: .utf8)
        let set = try await both(host, ["object", "set", "note", file.path], json: ["object", "set", "note2", file.path], CtlShape.manager) { $0.isEmpty }
        #expect((set as? [String: Any])?["Objects"] as? [String] == ["note", "note2"])
        try await both(host, ["object", "list"], CtlShape.manager) { $0 == "note\nnote2\n" }
        let deleted = try await both(host, ["object", "delete", "note"], json: ["object", "delete", "note2"], CtlShape.manager) { $0.isEmpty }
        #expect((deleted as? [String: Any])?["Objects"] as? [String] == [])
    }
}
