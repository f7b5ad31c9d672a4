import DBus
import Foundation
import Testing
import TestSupport

/// Who may answer or send invitations: only the user whose bus the daemon serves. The session
/// bus separates users (it takes only its owner's connections), and the daemon offers itself
/// on no other bus; this keeps it so.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct InvitationCallerTests {
    @Test func anotherUserCannotInviteAcceptOrEvenConnect() async throws {
        let pair = try await InvitationPair()
        let outgoing = try await pair.invite()
        let incoming = try await pair.incomingOnB()
        let invite = [
            "call", DaemonProcess.service, DaemonProcess.root.rawValue, DaemonProcess.manager, "Invite", "ossayu",
            pair.bOnA.rawValue, InvitationPair.app, "from someone else", "0", "0",
        ]
        let accept = ["call", DaemonProcess.service, incoming.rawValue, InvitationPair.invitation, "Accept"]
        // As nobody (uid 65534), on the same bus address: the bus refuses the connection.
        let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/busctl"]
        for (daemon, arguments) in [(pair.a, invite), (pair.b, accept)] {
            let output = try await ProcessRunner.run(
                asNobody[0], Array(asNobody.dropFirst()) + ["--address=\(daemon.bus.address)"] + arguments, timeout: .seconds(30))
            #expect(output.status != 0, "another user's busctl was served: \(output.standardOutput)")
            #expect(output.standardError.contains("not connected") || output.standardError.contains("ermission")
                || output.standardError.contains("ccess denied"), "\(output.standardError)")
        }
        // Nothing happened: A has only its invitation, B's is still pending.
        #expect(try await InvitationPair.invitations(on: pair.a).keys.sorted { $0.rawValue < $1.rawValue } == [outgoing])
        #expect(try await pair.state(pair.b, incoming) == "pending")
        // The same commands by the bus's own user are served, so the refusal was the user's.
        let mine = try await pair.a.busctl(invite)
        #expect(mine.status == 0, "\(mine.standardError)")
        #expect(try await InvitationPair.invitations(on: pair.a).count == 2)
        let accepted = try await pair.b.busctl(accept)
        #expect(accepted.status == 0, "\(accepted.standardError)")
        try await pair.waitForState(pair.a, outgoing, "accepted")
    }

    /// Two callers answer the same invitation at once (a script and the notification, say):
    /// one answer counts, the other is InvalidState, and both sides end in that one state.
    @Test func twoAnswersAtOnceEndInOneStateOnBothSides() async throws {
        let pair = try await InvitationPair(settingsB: #"{"invitationsPerSecondPerPeer": 1000}"#)
        for round in 0..<5 {
            let outgoing = try await pair.invite(message: "twice \(round)")
            let incoming = try await pair.incomingOnB(message: "twice \(round)")
            let other = try DBusConnection(bus: .address(pair.b.bus.address))
            defer { other.close() }
            async let accepted: Bool = { do { try await pair.call(pair.b, incoming, "Accept"); return true } catch { return false } }()
            async let declined: Bool = {
                do {
                    _ = try await other.call(
                        destination: DaemonProcess.service, path: incoming, interface: InvitationPair.invitation, member: "Decline",
                        timeout: .seconds(30))
                    return true
                } catch { return false }
            }()
            let (acceptWon, declineWon) = await (accepted, declined)
            #expect(acceptWon != declineWon, "round \(round): accept \(acceptWon), decline \(declineWon)")
            let final = acceptWon ? "accepted" : "declined"
            try await pair.waitForState(pair.a, outgoing, final)
            #expect(try await pair.state(pair.b, incoming) == final)
        }
    }
}
