import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// Inviting a contact that is not connected, across a router (no multicast between the two):
/// signed in to the internet scope, its endpoints are dialled first; PeerUnreachable says why
/// only when that fails.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"), .serialized)
struct InvitationInternetTests {
    func invite(_ from: LabDaemon, _ target: DBusObjectPath, message: String) async throws -> DBusObjectPath {
        let reply = try await from.managerCall(
            "Invite", [.objectPath(target), .string(InvitationPair.app), .string(message), .bytes([]), .uint32(0)])
        return try #require(reply.first?.objectPathValue)
    }

    func expectUnreachable(_ body: () async throws -> Void) async -> String {
        do {
            try await body()
            Issue.record("expected PeerUnreachable, the call succeeded")
        } catch let error as DBusError {
            #expect(error.name == PeerCollabErrorName.peerUnreachable.busName, "\(error)")
            return error.message
        } catch {
            Issue.record("expected PeerUnreachable, got \(error)")
        }
        return ""
    }

    @Test func aContactNotConnectedIsDialledBeforeTheInvitationFails() async throws {
        let lab = try NetworkLab(subnets: [[0], [1]])
        try await lab.withLogs {
            let daemons = try await LabDaemon.start(in: lab, hosts: [0, 1], signIn: nil, extraArguments: ["--port", "46773"])
            let (ana, ben) = (daemons[0], daemons[1])
            let benName = try await ben.peerName
            _ = try await ben.busctl([
                "set-property", DaemonProcess.service, DaemonProcess.root.rawValue, DaemonProcess.manager, "DisplayName", "s", "Ben Bridge",
            ])
            try await InvitationPair.register(on: ben, InvitationPair.app, ["name": .string("Whiteboard")])
            let benCard = try #require(try await ben.managerCall("GetContactCard").first?.stringValue)
            let benContact = try await ana.client.addContact(benCard)

            // Signed out of the internet scope, nothing is dialled: the error says what to do.
            let signedOut = await expectUnreachable { _ = try await invite(ana, benContact, message: "signed out") }
            #expect(signedOut.contains("sign in to the internet scope"), "\(signedOut)")

            // Ben is down: Ana dials his endpoint, and only then says he cannot be reached.
            try await ben.kill()
            try await ana.managerCall("SignIn", [.string("internet")])
            let down = await expectUnreachable { _ = try await invite(ana, benContact, message: "while he is down") }
            #expect(down.contains("could not be reached"), "\(down)")
            #expect(down.contains("46773"), "the reason names the endpoint tried: \(down)")
            #expect(ana.log.contains("Dialling a contact to invite it"))
            #expect(try await ana.peer(named: benName) == nil)
            // peercollabctl finds the contact by its name and says the same.
            let byName = try await ana.ctl(["invite", "Ben Bridge", InvitationPair.app])
            #expect(byName.status == 1, "\(byName.standardOutput)")
            #expect(byName.standardError.contains("The contact Ben Bridge is not connected now and could not be reached"), "\(byName.standardError)")

            // Ben comes back, signed in: the invitation dials him at once rather than waiting
            // for Ana's back-off, and goes through; the peer path means the same peer.
            try await ben.restart()
            try await ben.managerCall("SignIn", [.string("near-me")])
            let dialsBefore = ana.log.components(separatedBy: "Dialling a contact to invite it").count
            let outgoing = try await invite(ana, benContact, message: "back again")
            #expect(ana.log.components(separatedBy: "Dialling a contact to invite it").count == dialsBefore + 1)
            #expect(try await ana.property(outgoing, InvitationPair.invitation, "Peer").objectPathValue == benContact)
            let incoming = try await InvitationPair.waitFor("Ben receives the invitation", on: ben) { invitations in
                invitations.first { $0.value["Message"]?.stringValue == "back again" }?.key
            }
            try await ben.call(incoming, InvitationPair.invitation, "Accept")
            _ = try await InvitationPair.waitFor("accepted on Ana", on: ana) { $0[outgoing]?["State"]?.stringValue == "accepted" ? true : nil }
            #expect(try await ben.property(incoming, InvitationPair.invitation, "State").stringValue == "accepted")
        }
    }
}
