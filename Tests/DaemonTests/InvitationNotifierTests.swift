import DBus
import Logging
import Testing

@testable import peercollabd
import TestSupport

/// Invitation notifications against a notification server on a private bus: what is shown,
/// how answers come back, one notification per invitation, withdrawal, and no server at all.
@Suite(.serialized) struct InvitationNotifierTests {
    static let actions = ["accept", "Accept", "decline", "Decline"]

    struct Fixture {
        let bus: PrivateBus
        let connection: DBusConnection
        let notifier: InvitationNotifier
    }

    func withNotifier(
        server capabilities: [String]? = ["actions", "body"], enabled: Bool = true,
        _ body: (Fixture, NotificationServer?) async throws -> Void
    ) async throws {
        let bus = try PrivateBus()
        defer { bus.stop() }
        let server = try await capabilities.asyncMap { try await NotificationServer.start(bus: bus.address, capabilities: $0) }
        defer { server?.stop() }
        let connection = try DBusConnection(bus: .address(bus.address))
        defer { connection.close() }
        let notifier = InvitationNotifier(connection: connection, logger: Logger(label: "test"), enabled: enabled)
        try await notifier.start()
        try await body(Fixture(bus: bus, connection: connection, notifier: notifier), server)
        await notifier.stop()
    }

    @Test func showAsksTheServerWithAcceptAndDeclineButtons() async throws {
        try await withNotifier { fixture, server in
            let server = try #require(server)
            await fixture.notifier.show(invitationID: "i1", summary: "Alice invites you", body: "to White Board")
            let call = try #require(server.notifyCalls.first)
            #expect(server.notifyCalls.count == 1)
            #expect(call.appName == "peercollab")
            #expect(call.replacesID == 0)
            #expect(call.summary == "Alice invites you")
            #expect(call.body == "to White Board")
            #expect(call.actions == Self.actions)
            #expect(call.hints["desktop-entry"] == .string("peercollab"))
            #expect(call.hints["category"] == .string("im.received"))
            #expect(call.expireTimeout == 0, "stays until answered or withdrawn")
            #expect(await fixture.notifier.notificationID(of: "i1") == call.id)
        }
    }

    @Test func pressingAButtonPutsTheAnswerOnTheStream() async throws {
        try await withNotifier { fixture, server in
            let server = try #require(server)
            await fixture.notifier.show(invitationID: "i1", summary: "one", body: "")
            await fixture.notifier.show(invitationID: "i2", summary: "two", body: "")
            let first = try #require(await fixture.notifier.notificationID(of: "i1"))
            let second = try #require(await fixture.notifier.notificationID(of: "i2"))
            // Someone else's notification, an unknown action and the default action are not answers.
            try server.invokeAction(first + second + 100, "accept")
            try server.invokeAction(first, "default")
            try server.invokeAction(first, "accept")
            try server.invokeAction(second, "decline")
            var answers = fixture.notifier.responses.makeAsyncIterator()
            #expect(await answers.next() == .init(invitationID: "i1", answer: .accept))
            #expect(await answers.next() == .init(invitationID: "i2", answer: .decline))
        }
    }

    @Test func showingTheSameInvitationTwiceReplacesItsNotification() async throws {
        try await withNotifier { fixture, server in
            let server = try #require(server)
            async let a: Void = fixture.notifier.show(invitationID: "i1", summary: "first", body: "")
            async let b: Void = fixture.notifier.show(invitationID: "i1", summary: "second", body: "")
            _ = await (a, b)
            await fixture.notifier.show(invitationID: "i1", summary: "third", body: "")
            #expect(server.notifyCalls.count == 3)
            #expect(server.onScreen.count == 1, "one notification per invitation: \(server.onScreen)")
            let id = server.notifyCalls[0].id
            #expect(server.notifyCalls.dropFirst().allSatisfy { $0.replacesID == id && $0.id == id })
            #expect(server.onScreen.first?.summary == "third")
        }
    }

    @Test func withdrawClosesTheNotification() async throws {
        try await withNotifier { fixture, server in
            let server = try #require(server)
            await fixture.notifier.show(invitationID: "i1", summary: "x", body: "")
            let id = try #require(await fixture.notifier.notificationID(of: "i1"))
            await fixture.notifier.withdraw(invitationID: "i1")
            #expect(server.closeCalls == [id])
            #expect(server.onScreen.isEmpty)
            #expect(await fixture.notifier.notificationID(of: "i1") == nil)
            await fixture.notifier.withdraw(invitationID: "i1")
            #expect(server.closeCalls == [id], "withdrawing twice asks once")
        }
    }

    @Test func aDismissedNotificationIsForgottenNotAnswered() async throws {
        try await withNotifier { fixture, server in
            let server = try #require(server)
            await fixture.notifier.show(invitationID: "i1", summary: "x", body: "")
            let id = try #require(await fixture.notifier.notificationID(of: "i1"))
            try server.dismiss(id)
            _ = try await eventually("the notifier forgetting the dismissed notification") {
                await fixture.notifier.notificationID(of: "i1") == nil ? true : nil
            }
            await fixture.notifier.show(invitationID: "i1", summary: "again", body: "")
            #expect(server.notifyCalls.last?.replacesID == 0, "a new notification, not a replacement of a closed one")
        }
    }

    @Test func withoutAServerShowReturnsAndAServerThatAppearsIsUsed() async throws {
        try await withNotifier(server: nil) { fixture, _ in
            for index in 0..<20 {
                await fixture.notifier.show(invitationID: "i\(index)", summary: "nobody listens", body: "")
            }
            #expect(await fixture.notifier.notificationID(of: "i0") == nil)

            let server = try await NotificationServer.start(bus: fixture.bus.address)
            defer { server.stop() }
            _ = try await eventually("the notifier using the server that appeared") { () -> Bool? in
                await fixture.notifier.show(invitationID: "late", summary: "now someone does", body: "")
                return server.notifyCalls.isEmpty ? nil : true
            }
            #expect(server.notifyCalls.first?.summary == "now someone does")
        }
    }

    @Test func peerTextIsEscapedForServersThatReadMarkup() async throws {
        try await withNotifier(server: ["actions", "body", "body-markup"]) { fixture, server in
            let server = try #require(server)
            await fixture.notifier.show(invitationID: "i1", summary: "s", body: "<b>Eve</b> & \"friends\"")
            #expect(server.notifyCalls.first?.body == "&lt;b&gt;Eve&lt;/b&gt; &amp; &quot;friends&quot;")
        }
    }

    @Test func disabledNotificationsShowNothingAndDisablingWithdraws() async throws {
        try await withNotifier(enabled: false) { fixture, server in
            let server = try #require(server)
            await fixture.notifier.show(invitationID: "i1", summary: "x", body: "")
            #expect(server.notifyCalls.isEmpty)
            await fixture.notifier.setEnabled(true)
            await fixture.notifier.show(invitationID: "i1", summary: "x", body: "")
            #expect(server.onScreen.count == 1)
            await fixture.notifier.setEnabled(false)
            #expect(server.onScreen.isEmpty)
        }
    }

    @Test func aServerThatIsReplacedStartsAfresh() async throws {
        try await withNotifier { fixture, server in
            let first = try #require(server)
            await fixture.notifier.show(invitationID: "i1", summary: "x", body: "")
            #expect(await fixture.notifier.notificationID(of: "i1") != nil)
            first.stop()
            _ = try await eventually("the notifier forgetting the vanished server's notifications") {
                await fixture.notifier.notificationID(of: "i1") == nil ? true : nil
            }
            // Gone: showing returns without anyone to ask.
            await fixture.notifier.show(invitationID: "i1", summary: "nobody", body: "")

            let second = try await NotificationServer.start(bus: fixture.bus.address)
            defer { second.stop() }
            _ = try await eventually("the notifier using the new server") { () -> Bool? in
                await fixture.notifier.show(invitationID: "i1", summary: "again", body: "")
                return second.notifyCalls.isEmpty ? nil : true
            }
            #expect(second.notifyCalls.first?.replacesID == 0, "the old server's id means nothing to the new one")
        }
    }

    @Test func nameOwnerChangedIsAskedForOneNameOnly() throws {
        let rule = DBusMatchRule(
            sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged",
            arg0: InvitationNotifier.busName)
        func signal(_ name: String) throws -> DBusMessage {
            let message = try DBusMessage.signal(path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged")
            try message.append([.string(name), .string(""), .string(":1.9")])
            return message
        }
        // A message built here has no sender (only the bus gives one), so the rule's sender
        // would refuse it; arg0 is what is checked here.
        var anySender = rule
        anySender.sender = nil
        #expect(!rule.matches(try signal(InvitationNotifier.busName)), "not from the bus")
        #expect(anySender.matches(try signal(InvitationNotifier.busName)))
        #expect(!anySender.matches(try signal("org.example.Other")))
        #expect(rule.description.hasSuffix("arg0='org.freedesktop.Notifications'"))
    }

    @Test func anApostropheInArg0IsEscapedForTheBus() {
        let rule = DBusMatchRule(
            sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged",
            arg0: "it's")
        #expect(rule.description.hasSuffix(#"arg0='it'\''s'"#))
    }
}

extension Optional {
    fileprivate func asyncMap<U>(_ transform: (Wrapped) async throws -> U) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
