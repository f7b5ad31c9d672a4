import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// Accepting an invitation starts the application under a real `systemd --user`: a transient
/// unit of its own, PEERCOLLAB_INVITATION set, and the program reads the invitation over D-Bus.
@Suite(
    .serialized, .userManager,
    .enabled(
        if: NetworkLab.isAvailable && UserManager.unavailableReason == nil,
        "needs root, iproute2, /lib/systemd/systemd and dbus-user-session"))
struct InvitationLaunchTests {
    let systemd: UserManager

    init() throws {
        systemd = try #require(UserManager.current, "the suite runs inside its user manager")
    }

    /// B serves on the user manager's bus, where systemd1 is.
    func pair() async throws -> InvitationPair {
        let probe = try DBusConnection(bus: .address(systemd.busAddress))
        defer { probe.close() }
        _ = try await eventually("org.freedesktop.systemd1 on the manager's bus") {
            try await probe.nameOwner("org.freedesktop.systemd1")
        }
        return try await InvitationPair(registerOnB: false, busB: PrivateBus(existing: systemd.busAddress))
    }

    @Test func acceptingStartsTheApplicationInAUnitThatReadsTheInvitation() async throws {
        let pair = try await pair()
        let folder = systemd.root.appendingPathComponent("probe-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let report = folder.appendingPathComponent("report")
        let script = folder.appendingPathComponent("probe.sh")
        try """
            #!/bin/sh
            {
              echo "invitation=$PEERCOLLAB_INVITATION"
              echo "message=$(busctl --address='\(systemd.busAddress)' get-property org.peercollab.PeerCollab1 "$PEERCOLLAB_INVITATION" org.peercollab.PeerCollab1.Invitation Message)"
              echo "cgroup=$(cat /proc/self/cgroup)"
            } > '\(report.path).tmp'
            mv '\(report.path).tmp' '\(report.path)'
            """.write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        try await InvitationPair.register(on: pair.b, InvitationPair.app, ["name": .string("Probe"), "exec": .strings([script.path])])

        let outgoing = try await pair.invite(message: "Draw with me?")
        let incoming = try await pair.incomingOnB()
        try await pair.call(pair.b, incoming, "Accept")
        try await pair.waitForState(pair.a, outgoing, "accepted")
        #expect(try await pair.state(pair.b, incoming) == "accepted")

        let text = try await eventually("the launched program wrote its report", lastSeen: { systemd.managerLog.suffix(2000).description }) {
            try? String(contentsOf: report, encoding: .utf8)
        }
        #expect(text.contains("invitation=\(incoming.rawValue)"), "\(text)")
        #expect(text.contains(#"message=s "Draw with me?""#), "\(text)")
        #expect(text.contains("app-peercollab-org.example.Whiteboard@"), "a transient unit of its own: \(text)")
    }

    @Test func aLaunchThatFailsMakesTheInvitationFailedOnBothSidesWithTheReason() async throws {
        let pair = try await pair()
        try await InvitationPair.register(
            on: pair.b, InvitationPair.app, ["name": .string("Broken"), "exec": .strings(["/nonexistent/whiteboard"])])
        let outgoing = try await pair.invite()
        let incoming = try await pair.incomingOnB()
        do {
            try await pair.call(pair.b, incoming, "Accept")
            Issue.record("Accept succeeded although the program does not exist")
        } catch let error as DBusError {
            #expect(error.name == PeerCollabErrorName.failed.busName, "\(error)")
            #expect(error.message.contains("/nonexistent/whiteboard"), "\(error.message)")
        }
        try await pair.waitForState(pair.a, outgoing, "failed")
        #expect(try await pair.state(pair.b, incoming) == "failed")
        let reason = try await pair.a.property(outgoing, InvitationPair.invitation, "Reason").stringValue ?? ""
        #expect(reason.contains("/nonexistent/whiteboard"), "the inviter learns why: \(reason)")
    }
}
