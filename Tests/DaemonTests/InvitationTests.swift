import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// Two daemons signed in near me in a namespace lab, inviting each other the way applications
/// and scripts do: over D-Bus, with the answer seen on both sides.
struct InvitationPair {
    let lab: NetworkLab
    let a: LabDaemon
    let b: LabDaemon
    /// B as A sees it, and A as B sees it.
    let bOnA: DBusObjectPath
    let aOnB: DBusObjectPath

    static let invitation = PeerCollabBus.Interface.invitation
    static let application = PeerCollabBus.Interface.application
    static let app = "org.example.Whiteboard"

    /// `settingsB` is written to B's settings.json before it starts.
    /// `busB`: the bus B serves on (a user manager's, to launch applications), else its own.
    init(settingsA: String? = nil, settingsB: String? = nil, registerOnB: Bool = true, busB: PrivateBus? = nil) async throws {
        lab = try NetworkLab(hosts: 2)
        a = try await LabDaemon(lab: lab, host: 0, home: try Self.home(settings: settingsA), signIn: "near-me")
        b = try await LabDaemon(lab: lab, host: 1, home: try Self.home(settings: settingsB), signIn: "near-me", bus: busB)
        let nameA = try await a.peerName
        let nameB = try await b.peerName
        let peersOnA = try await a.waitForPeers("A finds B") { $0.values.contains { $0["PeerName"]?.stringValue == nameB } }
        let peersOnB = try await b.waitForPeers("B finds A") { $0.values.contains { $0["PeerName"]?.stringValue == nameA } }
        bOnA = try #require(peersOnA.first { $0.value["PeerName"]?.stringValue == nameB }?.key)
        aOnB = try #require(peersOnB.first { $0.value["PeerName"]?.stringValue == nameA }?.key)
        if registerOnB { try await Self.register(on: b, Self.app, ["name": .string("Whiteboard")]) }
    }

    static func home(settings: String?) throws -> URL? {
        guard let settings else { return nil }
        let home = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        let config = home.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try settings.write(to: config.appendingPathComponent("settings.json"), atomically: true, encoding: .utf8)
        return home
    }

    @discardableResult
    static func register(on daemon: LabDaemon, _ id: String, _ info: [String: DBusValue]) async throws -> DBusObjectPath {
        let reply = try await daemon.managerCall("RegisterApplication", [.string(id), .vardict(info)])
        return try #require(reply.first?.objectPathValue)
    }

    /// A invites B (or whoever `target` names) and returns the outgoing invitation's path.
    func invite(
        _ target: DBusObjectPath? = nil, app: String = InvitationPair.app, message: String = "Draw with me?", data: [UInt8] = [1, 2, 3],
        timeout: UInt32 = 0
    ) async throws -> DBusObjectPath {
        let reply = try await a.managerCall(
            "Invite", [.objectPath(target ?? bOnA), .string(app), .string(message), .bytes(data), .uint32(timeout)])
        return try #require(reply.first?.objectPathValue)
    }

    /// Invites B until its notification server shows one: the daemon notices the server appear
    /// (NameOwnerChanged), so the first invitations may come before it does. Returns the first
    /// notification shown and the invitation sent last.
    func inviteUntilNotified(_ server: NotificationServer) async throws -> (shown: NotificationServer.Notification, outgoing: DBusObjectPath) {
        var last: DBusObjectPath?
        for round in 0..<50 where server.notifyCalls.isEmpty {
            last = try await invite(message: "notify \(round)")
            try await Task.sleep(for: .milliseconds(100))
        }
        let shown = try #require(server.notifyCalls.first, "no notification was shown")
        return (shown, try #require(last))
    }

    /// The invitation objects a daemon exports now, with their properties.
    static func invitations(on daemon: LabDaemon) async throws -> [DBusObjectPath: [String: DBusValue]] {
        let reply = try await daemon.client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root,
            interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
        guard case .dictionary(_, _, let entries)? = reply.first else { return [:] }
        var result: [DBusObjectPath: [String: DBusValue]] = [:]
        for entry in entries {
            guard let path = entry.key.objectPathValue, case .dictionary(_, _, let interfaces) = entry.value else { continue }
            for interface in interfaces where interface.key.stringValue == invitation {
                result[path] = interface.value.vardictValue
            }
        }
        return result
    }

    /// Waits for the incoming invitation on B whose ApplicationId and Message match.
    func incomingOnB(message: String = "Draw with me?") async throws -> DBusObjectPath {
        try await Self.waitFor("B receives the invitation '\(message)'", on: b) { invitations in
            invitations.first { $0.value["Direction"]?.stringValue == "incoming" && $0.value["Message"]?.stringValue == message }?.key
        }
    }

    static func waitFor<T>(
        _ what: String, on daemon: LabDaemon, timeout: Duration = .seconds(20),
        _ probe: ([DBusObjectPath: [String: DBusValue]]) -> T?
    ) async throws -> T {
        let deadline = ContinuousClock.now + timeout
        var last: [DBusObjectPath: [String: DBusValue]] = [:]
        while ContinuousClock.now < deadline {
            last = try await invitations(on: daemon)
            if let value = probe(last) { return value }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("never happened within \(timeout): \(what)\nlast seen: \(last)\n\(daemon.daemon.log.suffix(4000))")
    }

    func state(_ daemon: LabDaemon, _ path: DBusObjectPath) async throws -> String {
        try await daemon.property(path, Self.invitation, "State").stringValue ?? ""
    }

    /// Waits until the invitation at `path` on `daemon` is in `state`.
    func waitForState(_ daemon: LabDaemon, _ path: DBusObjectPath, _ state: String, timeout: Duration = .seconds(20)) async throws {
        _ = try await Self.waitFor("\(path) becomes \(state)", on: daemon, timeout: timeout) { invitations in
            invitations[path]?["State"]?.stringValue == state ? true : nil
        }
    }

    @discardableResult
    func call(_ daemon: LabDaemon, _ path: DBusObjectPath, _ member: String) async throws -> [DBusValue] {
        try await daemon.client.call(
            destination: DaemonProcess.service, path: path, interface: Self.invitation, member: member, timeout: .seconds(30))
    }

    /// Expects a call to fail with the peercollab error `name`.
    func expectError(_ name: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(name), the call succeeded", sourceLocation: sourceLocation)
        } catch let error as DBusError {
            #expect(error.name == PeerCollabBus.errorPrefix + name, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(name), got \(error)", sourceLocation: sourceLocation)
        }
    }
}

@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct InvitationTests {
    @Test func inviteThenAcceptEndsAcceptedOnBothSides() async throws {
        let pair = try await InvitationPair()
        let received = try await pair.b.client.subscribe(
            to: DBusMatchRule(sender: DaemonProcess.service, interface: DaemonProcess.manager, member: "InvitationReceived"))
        // A sees B's registered application in B's profile.
        _ = try await pair.a.waitForPeers("A sees B's application") {
            $0[pair.bOnA]?["Applications"]?.stringArrayValue == [InvitationPair.app]
        }
        let outgoing = try await pair.invite(data: [0, 1, 2, 255])
        let signal = try await firstElement(of: received, what: "InvitationReceived on B")
        let incoming = try await pair.incomingOnB()
        let arguments = signal.arguments()
        #expect(arguments[0].objectPathValue == incoming)
        #expect(arguments[1].objectPathValue == pair.aOnB)
        #expect(arguments[2].stringValue == InvitationPair.app)
        #expect(arguments[3].stringValue == "Draw with me?")

        let onB = try #require(try await InvitationPair.invitations(on: pair.b)[incoming])
        #expect(onB["Data"]?.bytesValue == [0, 1, 2, 255])
        #expect(onB["PeerName"]?.stringValue == (try await pair.a.peerName))
        #expect(onB["Peer"]?.objectPathValue == pair.aOnB)
        #expect(onB["State"]?.stringValue == "pending")
        let created = try #require(onB["Created"]?.uint64Value)
        let expires = try #require(onB["Expires"]?.uint64Value)
        #expect(expires - created == 300_000_000)
        let onA = try #require(try await InvitationPair.invitations(on: pair.a)[outgoing])
        #expect(onA["Direction"]?.stringValue == "outgoing")
        #expect(onA["Peer"]?.objectPathValue == pair.bOnA)

        // A waits while B accepts; both end accepted.
        async let waited = pair.call(pair.a, outgoing, "Wait")
        try await pair.call(pair.b, incoming, "Accept")
        #expect(try await pair.state(pair.b, incoming) == "accepted")
        #expect(try await waited.first?.stringValue == "accepted")
        #expect(try await pair.state(pair.a, outgoing) == "accepted")
        // Final is final: answering twice, or cancelling now, is InvalidState.
        await pair.expectError("InvalidState") { try await pair.call(pair.b, incoming, "Accept") }
        await pair.expectError("InvalidState") { try await pair.call(pair.b, incoming, "Decline") }
        await pair.expectError("InvalidState") { try await pair.call(pair.a, outgoing, "Cancel") }
        // Only the invitee answers and only the inviter cancels.
        #expect(try await pair.call(pair.a, outgoing, "Wait").first?.stringValue == "accepted")

        try await InterfaceFiles.expectMatch(InvitationPair.invitation, at: outgoing, on: pair.a.client)
        try await InterfaceFiles.expectMatch(
            InvitationPair.application, at: "/org/peercollab/PeerCollab1/application/org_2eexample_2eWhiteboard", on: pair.b.client)
    }

    @Test func inviteThenDeclineEndsDeclinedOnBothSides() async throws {
        let pair = try await InvitationPair()
        let outgoing = try await pair.invite()
        let incoming = try await pair.incomingOnB()
        await pair.expectError("InvalidState") { try await pair.call(pair.a, outgoing, "Accept") }
        await pair.expectError("InvalidState") { try await pair.call(pair.b, incoming, "Cancel") }
        try await pair.call(pair.b, incoming, "Decline")
        #expect(try await pair.state(pair.b, incoming) == "declined")
        try await pair.waitForState(pair.a, outgoing, "declined")
        await pair.expectError("InvalidState") { try await pair.call(pair.b, incoming, "Accept") }
    }

    @Test func anUnansweredInvitationExpiresOnBothSides() async throws {
        let pair = try await InvitationPair()
        let outgoing = try await pair.invite(timeout: 1)
        let incoming = try await pair.incomingOnB()
        #expect(try await pair.call(pair.a, outgoing, "Wait").first?.stringValue == "expired")
        try await pair.waitForState(pair.b, incoming, "expired")
        await pair.expectError("InvalidState") { try await pair.call(pair.b, incoming, "Accept") }
    }

    @Test func cancelEndsCancelledOnBothSides() async throws {
        let pair = try await InvitationPair()
        let outgoing = try await pair.invite()
        let incoming = try await pair.incomingOnB()
        async let waitedOnB = pair.call(pair.b, incoming, "Wait")
        try await pair.call(pair.a, outgoing, "Cancel")
        #expect(try await pair.state(pair.a, outgoing) == "cancelled")
        #expect(try await waitedOnB.first?.stringValue == "cancelled")
        await pair.expectError("InvalidState") { try await pair.call(pair.b, incoming, "Accept") }
        await pair.expectError("InvalidState") { try await pair.call(pair.a, outgoing, "Cancel") }
    }

    @Test func aPeerThatLeavesFailsItsPendingInvitationsBothWays() async throws {
        let pair = try await InvitationPair()
        try await InvitationPair.register(on: pair.a, InvitationPair.app, ["name": .string("Whiteboard")])
        let outgoing = try await pair.invite()
        let incoming = try await pair.incomingOnB()
        // And one the other way, independent of the first.
        let reverse = try #require(
            try await pair.b.managerCall(
                "Invite", [.objectPath(pair.aOnB), .string(InvitationPair.app), .string("back"), .bytes([]), .uint32(0)]
            ).first?.objectPathValue)
        let reverseOnA = try await InvitationPair.waitFor("A receives B's invitation", on: pair.a) { invitations in
            invitations.first { $0.value["Direction"]?.stringValue == "incoming" }?.key
        }
        #expect(reverse != incoming)
        try await pair.b.managerCall("SignOut", [.string("near-me")])
        try await pair.waitForState(pair.a, outgoing, "failed")
        try await pair.waitForState(pair.a, reverseOnA, "failed")
        try await pair.waitForState(pair.b, incoming, "failed")
        try await pair.waitForState(pair.b, reverse, "failed")
        let reason = try await pair.a.property(outgoing, InvitationPair.invitation, "Reason").stringValue ?? ""
        #expect(reason.contains("left"), "\(reason)")
        // Inviting someone who is not connected is PeerUnreachable.
        await pair.expectError("PeerUnreachable") { _ = try await pair.invite() }
    }

    @Test func anApplicationNotRegisteredOnTheInviteeFailsWithTheReason() async throws {
        let pair = try await InvitationPair()
        let outgoing = try await pair.invite(app: "org.example.NotThere")
        #expect(try await pair.call(pair.a, outgoing, "Wait").first?.stringValue == "failed")
        let reason = try await pair.a.property(outgoing, InvitationPair.invitation, "Reason").stringValue ?? ""
        #expect(reason.contains("org.example.NotThere is not registered"), "\(reason)")
        #expect(try await InvitationPair.invitations(on: pair.b).isEmpty)
    }

    @Test func policyNobodyRefusesAndAnyoneAccepts() async throws {
        // The rate limit is raised here so that only the policy refuses.
        let pair = try await InvitationPair(settingsB: #"{"invitationsPerSecondPerPeer": 1000}"#)
        #expect(try await pair.b.manager("InvitationPolicy").stringValue == "anyone")
        let changes = try await pair.b.client.subscribe(
            to: DBusMatchRule(sender: DaemonProcess.service, path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties"))
        _ = try await pair.b.client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties",
            member: "Set", arguments: [.string(DaemonProcess.manager), .string("InvitationPolicy"), .variant(.string("nobody"))])
        _ = try await firstElement(of: changes, what: "PropertiesChanged for InvitationPolicy") {
            $0.arguments().dropFirst().first?.vardictValue?["InvitationPolicy"]?.stringValue == "nobody"
        }
        let refused = try await pair.invite()
        #expect(try await pair.call(pair.a, refused, "Wait").first?.stringValue == "failed")
        let reason = try await pair.a.property(refused, InvitationPair.invitation, "Reason").stringValue ?? ""
        #expect(reason.contains("does not accept invitations"), "\(reason)")
        #expect(try await InvitationPair.invitations(on: pair.b).isEmpty)
        // contacts: A is no contact of B's, so it is refused too.
        _ = try await pair.b.client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties",
            member: "Set", arguments: [.string(DaemonProcess.manager), .string("InvitationPolicy"), .variant(.string("contacts"))])
        let notContact = try await pair.invite(message: "as a stranger")
        #expect(try await pair.call(pair.a, notContact, "Wait").first?.stringValue == "failed")
        #expect((try await pair.a.property(notContact, InvitationPair.invitation, "Reason").stringValue ?? "").contains("contacts only"))
        await pair.expectError("InvalidArgument") {
            _ = try await pair.b.client.call(
                destination: DaemonProcess.service, path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties",
                member: "Set", arguments: [.string(DaemonProcess.manager), .string("InvitationPolicy"), .variant(.string("everyone"))])
        }
        _ = try await pair.b.client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties",
            member: "Set", arguments: [.string(DaemonProcess.manager), .string("InvitationPolicy"), .variant(.string("anyone"))])
        _ = try await pair.invite(message: "now welcome")
        _ = try await pair.incomingOnB(message: "now welcome")
        // The policy is a stored setting.
        let settings = try String(contentsOf: pair.b.daemon.configDirectory.appendingPathComponent("settings.json"), encoding: .utf8)
        #expect(settings.contains("\"invitationPolicy\" : \"anyone\""), "\(settings)")
    }

    @Test func aBurstOfInvitationsFromOnePeerIsRateLimited() async throws {
        let pair = try await InvitationPair()
        var sent: [DBusObjectPath] = []
        for index in 0..<6 { sent.append(try await pair.invite(message: "burst \(index)")) }
        // At most one new invitation a second gets through; the rest fail with the reason.
        let failed = try await InvitationPair.waitFor("most of the burst refused", on: pair.a) { invitations in
            let failed = sent.filter { invitations[$0]?["State"]?.stringValue == "failed" }
            return failed.count >= 4 ? failed : nil
        }
        #expect(try await pair.state(pair.a, sent[0]) == "pending")
        let reason = try await pair.a.property(failed[0], InvitationPair.invitation, "Reason").stringValue ?? ""
        #expect(reason.contains("too many invitations at once"), "\(reason)")
        let onB = try await InvitationPair.invitations(on: pair.b).count
        #expect(onB >= 1 && onB <= 2, "\(onB) reached B")
    }

    @Test func atMostEightPendingFromOnePeer() async throws {
        let pair = try await InvitationPair(settingsB: #"{"invitationsPerSecondPerPeer": 1000}"#)
        var sent: [DBusObjectPath] = []
        for index in 0..<10 { sent.append(try await pair.invite(message: "many \(index)")) }
        _ = try await InvitationPair.waitFor("eight pending on B", on: pair.b) { $0.count == 8 ? true : nil }
        try await pair.waitForState(pair.a, sent[8], "failed")
        try await pair.waitForState(pair.a, sent[9], "failed")
        #expect((try await pair.a.property(sent[9], InvitationPair.invitation, "Reason").stringValue ?? "").contains("8 of your invitations"))
        #expect(try await pair.state(pair.a, sent[0]) == "pending")
    }

    @Test func badInvitationsAreInvalidArgument() async throws {
        let pair = try await InvitationPair()
        await pair.expectError("InvalidArgument") { _ = try await pair.invite(message: String(repeating: "m", count: 1025)) }
        await pair.expectError("InvalidArgument") { _ = try await pair.invite(data: [UInt8](repeating: 7, count: 65537)) }
        await pair.expectError("InvalidArgument") { _ = try await pair.invite(timeout: 3601) }
        await pair.expectError("InvalidArgument") { _ = try await pair.invite(app: "not reverse dns") }
        await pair.expectError("InvalidArgument") { _ = try await pair.invite(DaemonProcess.root) }
        await pair.expectError("PeerUnreachable") { _ = try await pair.invite("/org/peercollab/PeerCollab1/contact/nobodyhere") }
        // The limits themselves are fine.
        let largest = try await pair.invite(message: String(repeating: "m", count: 1024), data: [UInt8](repeating: 7, count: 65536), timeout: 3600)
        let incoming = try await pair.incomingOnB(message: String(repeating: "m", count: 1024))
        #expect(try await InvitationPair.invitations(on: pair.b)[incoming]?["Data"]?.bytesValue?.count == 65536)
        #expect(try await pair.state(pair.a, largest) == "pending")
        await #expect(throws: DBusError.self) {
            try await pair.call(pair.a, "/org/peercollab/PeerCollab1/invitation/0123", "Accept")
        }
    }

    @Test func acceptRacingCancelEndsInOneStateOnBothSides() async throws {
        let pair = try await InvitationPair(settingsB: #"{"invitationsPerSecondPerPeer": 1000}"#)
        for round in 0..<5 {
            let outgoing = try await pair.invite(message: "race \(round)")
            let incoming = try await pair.incomingOnB(message: "race \(round)")
            async let accepted: Bool = { do { try await pair.call(pair.b, incoming, "Accept"); return true } catch { return false } }()
            async let cancelled: Bool = { do { try await pair.call(pair.a, outgoing, "Cancel"); return true } catch { return false } }()
            let (acceptWon, cancelWon) = await (accepted, cancelled)
            #expect(acceptWon != cancelWon, "round \(round): accept \(acceptWon), cancel \(cancelWon)")
            let final = acceptWon ? "accepted" : "cancelled"
            try await pair.waitForState(pair.a, outgoing, final)
            try await pair.waitForState(pair.b, incoming, final)
        }
    }

    @Test func finishedInvitationsAreWithdrawnAfterTheRetention() async throws {
        let pair = try await InvitationPair(settingsA: #"{"invitationRetentionSeconds": 1}"#, settingsB: #"{"invitationRetentionSeconds": 1}"#)
        let removed = try await pair.a.client.subscribe(
            to: DBusMatchRule(sender: DaemonProcess.service, interface: "org.freedesktop.DBus.ObjectManager", member: "InterfacesRemoved"))
        let outgoing = try await pair.invite()
        let incoming = try await pair.incomingOnB()
        try await pair.call(pair.b, incoming, "Decline")
        _ = try await firstElement(of: removed, what: "the finished invitation withdrawn on A") { $0.arguments().first?.objectPathValue == outgoing }
        _ = try await InvitationPair.waitFor("B withdraws it too", on: pair.b) { $0.isEmpty ? true : nil }
        let gone = await #expect(throws: DBusError.self) { _ = try await pair.call(pair.a, outgoing, "Wait") }
        #expect(gone?.name == DBusError.StandardName.unknownObject)
    }

    @Test func aNotificationPerInvitationAnswersItAndIsWithdrawnWhenItEnds() async throws {
        let pair = try await InvitationPair(settingsB: #"{"invitationsPerSecondPerPeer": 1000}"#)
        let server = try await NotificationServer.start(bus: pair.b.bus.address)
        defer { server.stop() }
        let (shown, outgoing) = try await pair.inviteUntilNotified(server)
        #expect(shown.actions == ["accept", "Accept", "decline", "Decline"])
        #expect(shown.summary.contains("invites you to Whiteboard"), "\(shown.summary)")
        let message = try #require(try await InvitationPair.invitations(on: pair.a)[outgoing]?["Message"]?.stringValue)
        #expect(shown.body == message)

        // Accept from the notification: accepted on both sides, and the notification goes away.
        try server.invokeAction(shown.id, "accept")
        try await pair.waitForState(pair.a, outgoing, "accepted")
        _ = try await eventually("the notification withdrawn") { server.closeCalls.contains(shown.id) ? true : nil }
        #expect(server.notifyCalls.count(where: { $0.body == message }) == 1, "one notification per invitation")

        // A cancelled invitation's notification is withdrawn too.
        let cancelled = try await pair.invite(message: "to be cancelled")
        let second = try await eventually("a notification for the second invitation") {
            server.notifyCalls.first { $0.body == "to be cancelled" }
        }
        try await pair.call(pair.a, cancelled, "Cancel")
        _ = try await eventually("the cancelled invitation's notification withdrawn") { server.closeCalls.contains(second.id) ? true : nil }
    }

    @Test func notificationsCanBeTurnedOff() async throws {
        let pair = try await InvitationPair(settingsB: #"{"invitationNotifications": false}"#)
        let server = try await NotificationServer.start(bus: pair.b.bus.address)
        defer { server.stop() }
        try await Task.sleep(for: .milliseconds(300))
        _ = try await pair.invite()
        _ = try await pair.incomingOnB()
        try await Task.sleep(for: .milliseconds(300))
        #expect(server.notifyCalls.isEmpty)
    }

    @Test func aWaitingCallerThatLeavesTheBusLeavesNothingBehind() async throws {
        let pair = try await InvitationPair()
        let outgoing = try await pair.invite()
        let waiter = try DBusConnection(bus: .address(pair.a.bus.address))
        let message = try DBusMessage.methodCall(
            destination: DaemonProcess.service, path: outgoing, interface: InvitationPair.invitation, member: "Wait")
        _ = try waiter.send(message)
        // The daemon holds the wait; the caller goes away without an answer.
        try await Task.sleep(for: .milliseconds(200))
        waiter.close()
        _ = try await eventually("the daemon ends the wait of the caller that left") {
            pair.a.daemon.log.contains("Ended the waits of a caller that left the bus") ? true : nil
        }
        // Others still wait and hear the outcome.
        async let waited = pair.call(pair.a, outgoing, "Wait")
        try await pair.call(pair.a, outgoing, "Cancel")
        #expect(try await waited.first?.stringValue == "cancelled")
    }
}
