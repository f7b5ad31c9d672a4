import DBus
import Foundation
import Testing
import TestSupport

/// Contacts over the internet scope: daemons on different subnets joined by a router (no
/// multicast between them) reach each other only at the endpoints of their cards.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct ContactsInternetLabTests {
    /// The Contact properties of `peerName` on `daemon`, or nil when it has no such contact.
    func contact(_ peerName: String, on daemon: LabDaemon) async throws -> [String: DBusValue]? {
        try await daemon.client.contacts()[peerName]
    }

    func waitForContact(
        _ peerName: String, on daemon: LabDaemon, _ what: String, timeout: Duration = .seconds(30),
        _ condition: @escaping ([String: DBusValue]) -> Bool
    ) async throws {
        _ = try await eventually(within: timeout, what, lastSeen: { "\((try? await self.contact(peerName, on: daemon)) ?? [:])" }) {
            guard let properties = try await contact(peerName, on: daemon), condition(properties) else { return nil as Bool? }
            return true
        }
    }

    @Test func contactsOnTwoSubnetsConnectByEndpointReconnectAfterAKillAndNoImpostorIsTaken() async throws {
        // Hosts 0 and 2 share a subnet; host 1 is behind the router.
        let lab = try NetworkLab(subnets: [[0, 2], [1]])
        try await lab.withLogs {
            // A fixed port (each host is a namespace of its own), so that a restarted daemon is
            // where its card says.
            let daemons = try await LabDaemon.start(in: lab, hosts: [0, 1], signIn: "internet", extraArguments: ["--port", "46773"])
            let (ana, ben) = (daemons[0], daemons[1])
            _ = try await ben.busctl(["set-property", DaemonProcess.service, DaemonProcess.root.rawValue, DaemonProcess.manager, "DisplayName", "s", "Ben Bridge"])
            let anaName = try await ana.peerName
            let benName = try await ben.peerName

            let anaCard = try #require(try await ana.managerCall("GetContactCard").first?.stringValue)
            let benCard = try #require(try await ben.managerCall("GetContactCard").first?.stringValue)
            #expect(benCard.contains("X-PEERCOLLAB-ENDPOINT:\(lab.ipv4(1)):46773"), "\(benCard)")
            _ = try await ana.client.addContact(benCard)
            _ = try await ben.client.addContact(anaCard)

            // Both see each other as a peer over the internet scope, and as an online contact.
            try await waitForContact(benName, on: ana, "Ben online for Ana") { $0["Online"]?.boolValue == true }
            try await waitForContact(anaName, on: ben, "Ana online for Ben") { $0["Online"]?.boolValue == true }
            let benAsPeer = try #require(try await ana.peer(named: benName))
            #expect(benAsPeer["Scope"]?.stringValue == "internet")
            #expect(benAsPeer["Contact"]?.objectPathValue == ContactCards.contactPath(benName))
            #expect(try await contact(benName, on: ana)?["Peer"]?.objectPathValue?.rawValue.hasSuffix("/peer/\(benName)") == true)
            #expect(try await contact(benName, on: ana)?["DisplayName"]?.stringValue == "Ben Bridge")

            // kill -9: no goodbye; the channel drops and Ana shows Ben offline.
            try await ben.kill()
            try await waitForContact(benName, on: ana, "Ben offline for Ana after the kill") { $0["Online"]?.boolValue == false }
            #expect(try await contact(benName, on: ana)?["Peer"]?.objectPathValue == DBusObjectPath.root)
            #expect(try await contact(benName, on: ana)?["LastSeen"]?.uint64Value ?? 0 > 0)

            // Someone on Ana's own subnet calls itself Ben Bridge and connects to her: a peer,
            // never the contact (another key, so another peer name).
            let impostor = try await LabDaemon(lab: lab, host: 2, signIn: "internet")
            _ = try await impostor.busctl(["set-property", DaemonProcess.service, DaemonProcess.root.rawValue, DaemonProcess.manager, "DisplayName", "s", "Ben Bridge"])
            let impostorName = try await impostor.peerName
            _ = try await impostor.connect(try await ana.link())
            let shown = try await eventually("the impostor's profile on Ana") { () async throws -> [String: DBusValue]? in
                guard let peer = try await ana.peer(named: impostorName), peer["DisplayName"]?.stringValue == "Ben Bridge" else { return nil }
                return peer
            }
            #expect(shown["Contact"]?.objectPathValue == DBusObjectPath.root)
            let anaContacts = try await ana.client.contacts()
            #expect(Set(anaContacts.keys) == [benName])
            #expect(anaContacts[benName]?["Online"]?.boolValue == false)
            let table = try await ana.ctl(["near"])
            #expect(table.standardOutput.contains(impostorName))

            // Ben comes back at the same address: the two find each other again.
            try await ben.restart()
            try await waitForContact(benName, on: ana, "Ben online again for Ana") { $0["Online"]?.boolValue == true }
            try await waitForContact(anaName, on: ben, "Ana online again for Ben") { $0["Online"]?.boolValue == true }

            // Signing out of the internet scope says goodbye: Ben sees Ana leave, and Ana does
            // not dial again.
            try await ana.managerCall("SignOut", [.string("internet")])
            try await waitForContact(anaName, on: ben, "Ana offline for Ben after her sign-out") { $0["Online"]?.boolValue == false }
            try await Task.sleep(for: .seconds(2))
            #expect(try await contact(benName, on: ana)?["Online"]?.boolValue == false)
        }
    }

    /// Ben is down when Ana signs in; he comes up later, signed out, then signs in: Ana's
    /// back-off dials find him without anyone calling Refresh.
    @Test func backOffRedialsReachAContactThatComesUpLater() async throws {
        let lab = try NetworkLab(subnets: [[0], [1]])
        try await lab.withLogs {
            let daemons = try await LabDaemon.start(in: lab, hosts: [0, 1], signIn: nil, extraArguments: ["--port", "46773"])
            let (ana, ben) = (daemons[0], daemons[1])
            let benName = try await ben.peerName
            let benCard = try #require(try await ben.managerCall("GetContactCard").first?.stringValue)
            _ = try await ana.client.addContact(benCard)
            try await ana.managerCall("SignIn", [.string("internet")])
            // Ben is signed out, so he refuses Ana's dials; she keeps trying with back-off.
            try await Task.sleep(for: .seconds(3))
            #expect(try await contact(benName, on: ana)?["Online"]?.boolValue == false)
            #expect(ben.log.contains("not signed in"))
            // Ben signs in to near-me only: he accepts again, but dials no contact (he has none);
            // Ana's next dial gets through.
            try await ben.managerCall("SignIn", [.string("near-me")])
            try await waitForContact(benName, on: ana, "Ben reached by Ana's back-off", timeout: .seconds(40)) { $0["Online"]?.boolValue == true }
        }
    }
}
