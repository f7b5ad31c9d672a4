import DBus
import Foundation
import Testing
import TestSupport

/// `systemctl --user reload` (SIGHUP) applies the invitation settings at once: notifications
/// off withdraws those on screen and on again shows the pending ones, the policy is announced,
/// a shorter retention withdraws what finished long enough ago, and the book ends empty.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct InvitationReloadTests {
    /// Writes B's settings file and sends it SIGHUP, as `systemctl --user reload` does.
    static func reload(_ daemon: LabDaemon, settings: String) throws {
        try settings.write(to: daemon.daemon.configDirectory.appendingPathComponent("settings.json"), atomically: true, encoding: .utf8)
        daemon.daemon.signal(SIGHUP)
    }

    /// The detail of Diagnose's "invitations" check: what the invitation book holds.
    static func book(_ daemon: LabDaemon) async throws -> String {
        let report = try #require(try await daemon.managerCall("Diagnose").first?.vardictValue)
        let checks = report["checks"]?.arrayElements ?? []
        let invitations = checks.compactMap(\.structureFields).first { $0.first?.stringValue == "invitations" }
        return try #require(invitations?[2].stringValue, "Diagnose has no invitations check: \(report)")
    }

    @Test func aReloadAppliesNotificationsPolicyAndRetentionLive() async throws {
        let pair = try await InvitationPair(settingsB: #"{"invitationsPerSecondPerPeer": 1000}"#)
        let server = try await NotificationServer.start(bus: pair.b.bus.address)
        defer { server.stop() }
        let (shown, _) = try await pair.inviteUntilNotified(server)
        let onScreenBefore = server.onScreen.count
        #expect(onScreenBefore >= 1)

        // Off: every notification on screen is withdrawn, and a new invitation shows none.
        let policyChanges = try await pair.b.client.subscribe(
            to: DBusMatchRule(sender: DaemonProcess.service, path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties"))
        try Self.reload(pair.b, settings: #"{"invitationsPerSecondPerPeer": 1000, "invitationNotifications": false}"#)
        _ = try await eventually("the notifications on screen withdrawn after the reload") { server.onScreen.isEmpty ? true : nil }
        #expect(server.closeCalls.contains(shown.id))
        let calls = server.notifyCalls.count
        let quiet = try await pair.invite(message: "while notifications are off")
        let quietOnB = try await pair.incomingOnB(message: "while notifications are off")
        try await Task.sleep(for: .milliseconds(300))
        #expect(server.notifyCalls.count == calls, "a notification was shown while they were off")

        // On again, with the policy `nobody` and a retention of 1 s: the pending invitation
        // gets its notification, the policy is announced and holds, and what finished goes.
        try await pair.call(pair.a, quiet, "Cancel")
        try await pair.waitForState(pair.b, quietOnB, "cancelled")
        let pendingBefore = try await InvitationPair.invitations(on: pair.b).filter { $0.value["State"]?.stringValue == "pending" }
        #expect(!pendingBefore.isEmpty)
        try Self.reload(
            pair.b,
            settings: #"{"invitationsPerSecondPerPeer": 1000, "invitationNotifications": true, "invitationPolicy": "nobody", "invitationRetentionSeconds": 1}"#)
        _ = try await firstElement(of: policyChanges, what: "PropertiesChanged for InvitationPolicy after the reload") {
            $0.arguments().dropFirst().first?.vardictValue?["InvitationPolicy"]?.stringValue == "nobody"
        }
        _ = try await eventually("notifications for the pending invitations again") {
            server.onScreen.count == pendingBefore.count ? true : nil
        }
        _ = try await InvitationPair.waitFor("the cancelled invitation withdrawn under the new retention", on: pair.b) {
            $0[quietOnB] == nil ? true : nil
        }
        let refused = try await pair.invite(message: "after the reload")
        #expect(try await pair.call(pair.a, refused, "Wait").first?.stringValue == "failed")
        #expect((try await pair.a.property(refused, InvitationPair.invitation, "Reason").stringValue ?? "").contains("does not accept invitations"))

        // Nothing leaked: once A cancels the rest, B's book empties within the retention:
        // no objects, no timers, no waiters, no incoming ids.
        for (path, properties) in try await InvitationPair.invitations(on: pair.a)
        where properties["State"]?.stringValue == "pending" {
            try await pair.call(pair.a, path, "Cancel")
        }
        _ = try await InvitationPair.waitFor("every invitation withdrawn on B", on: pair.b) { $0.isEmpty ? true : nil }
        _ = try await eventually("the notifications withdrawn") { server.onScreen.isEmpty ? true : nil }
        let book = try await Self.book(pair.b)
        #expect(book.hasPrefix("0 invitations (0 pending), 0 callers waiting, 0 timers, 0 incoming ids"), "\(book)")
    }
}
