@testable import Collaboration
import Foundation
import Logging
import PeerSecurity
import Synchronization
import Testing

/// How the internet scope dials contacts: every contact with endpoints, a bounded number at
/// once, again after a back-off, at once after a network change, never after sign-out.
@Suite struct ContactDialTests {
    func makeCollaboration() throws -> Collaboration {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("contactdial-\(UUID().uuidString)")
        return try Collaboration(
            store: SettingsStore(directory: folder.appendingPathComponent("config")),
            dataDirectory: folder.appendingPathComponent("data").path,
            identity: LocalIdentity(PeerIdentity.loadOrCreate(directory: folder.appendingPathComponent("data").path)),
            accountName: "tester", logger: Logger(label: "test"))
    }

    func card(_ index: Int) throws -> (name: String, text: String) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("contactcard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let identity = try PeerIdentity.loadOrCreate(directory: folder.path)
        let text = ContactCard(
            displayName: "Contact \(index)", peerName: identity.peerName.description, certificateDER: identity.certificateDER,
            endpoints: [ContactEndpoint(host: "192.0.2.\(index + 1)", port: 4000), ContactEndpoint(host: "198.51.100.\(index + 1)", port: 4000)]
        ).encode()
        return (identity.peerName.description, text)
    }

    @Test func contactsAreDialledAtBoundedConcurrencyAgainAfterBackOffAndNotAfterSignOut() async throws {
        let lab = try await DomainLab()
        let collaboration = lab.collaboration
        let state = Mutex<(underWay: Int, most: Int, dials: [String: Int], scopes: Set<Scope>)>((0, 0, [:], []))
        await collaboration.setDialer { endpoint, name, scope, _ in
            state.withLock {
                $0.underWay += 1
                $0.most = max($0.most, $0.underWay)
                $0.dials[name.description, default: 0] += 1
                $0.scopes.insert(scope)
            }
            // A dial takes a while (real time, off the domain), so that dials overlap.
            try? await Task.sleep(for: .milliseconds(5))
            state.withLock { $0.underWay -= 1 }
            throw CollaborationError(.peerUnreachable, "nobody at \(endpoint)")
        }
        var names: [String] = []
        for index in 0..<10 {
            let (name, text) = try card(index)
            names.append(name)
            #expect(try await collaboration.addContact(card: text) == name)
        }
        // Not signed in: nothing is dialled, nothing planned.
        #expect(await collaboration.nextDeadline == nil)
        #expect(state.withLock { $0.dials.isEmpty })

        /// Waits (bounded) until every contact was dialled `count` times and the next round is planned.
        func rounds(_ count: Int) async throws {
            for _ in 0..<4_000 {
                let done = state.withLock { s in names.allSatisfy { (s.dials[$0] ?? 0) >= count } && s.underWay == 0 }
                if done, await collaboration.nextDeadline != nil { return }
                try await Task.sleep(for: .milliseconds(1))
            }
            throw DomainLabError("never happened: \(count) dials of every contact: \(state.withLock { $0.dials })")
        }
        try await collaboration.signIn("internet")
        // A round tries both endpoints of every contact.
        try await rounds(2)
        #expect(state.withLock { $0.dials.values.reduce(0, +) } == 20)
        // The next after 2 s ± 20 %.
        await lab.advance(by: .milliseconds(1_590))
        #expect(state.withLock { $0.dials.values.reduce(0, +) } == 20)
        await lab.advance(by: .milliseconds(820))
        try await rounds(4)
        let seen = state.withLock { $0 }
        #expect(seen.most <= Collaboration.maximumContactDials, "dials under way at once: \(seen.most)")
        #expect(seen.scopes == [.internet])

        // The third round waits about 4 s; a network change dials at once instead.
        await collaboration.networkChanged()
        try await rounds(6)

        try await collaboration.signOut("internet")
        #expect(await collaboration.nextDeadline == nil)
        let afterSignOut = state.withLock { $0.dials.values.reduce(0, +) }
        await lab.advance(by: .seconds(600))
        #expect(state.withLock { $0.dials.values.reduce(0, +) } == afterSignOut, "dialled after signing out")
    }

    @Test func aCardIsCheckedAgainstItsKeyAndAddingAKnownKeyAgainUpdatesIt() async throws {
        let collaboration = try makeCollaboration()
        let (name, text) = try card(1)
        let (otherName, _) = try card(2)
        // The same certificate under another peer name: refused whole.
        let forged = text.replacingOccurrences(of: "X-PEERCOLLAB-PEERNAME:\(name)", with: "X-PEERCOLLAB-PEERNAME:\(otherName)")
        await #expect(throws: CollaborationError.self) { try await collaboration.addContact(card: forged) }
        #expect(await collaboration.contactIDs.isEmpty)

        #expect(try await collaboration.addContact(card: text) == name)
        try await collaboration.setNickname(name, "Uno")
        try await collaboration.setVerified(name, false)
        let renamed = text.replacingOccurrences(of: "FN:Contact 1", with: "FN:Contact One")
        #expect(try await collaboration.addContact(card: renamed) == name)
        let contact = try #require(await collaboration.contact(name))
        #expect(contact.record.displayName == "Contact One")
        #expect(contact.record.nickname == "Uno")
        #expect(contact.record.verified)
        #expect(await collaboration.contactIDs == [name])
    }
}

/// The DER walk that finds a stored certificate's key without OpenSSL: the same bytes as
/// OpenSSL's, and nil (never a crash or a read out of bounds) for anything damaged.
@Suite struct ContactKeyTests {
    func identity() throws -> PeerIdentity {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("contactkey-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        return try PeerIdentity.loadOrCreate(directory: folder.path)
    }

    @Test func findsTheSameKeyAsOpenSSL() throws {
        for _ in 0..<5 {
            let identity = try identity()
            let spki = ContactKey.subjectPublicKeyInfo(ofCertificate: identity.certificateDER)
            #expect(spki == identity.certificate.publicKeyDER)
            let key = ContactKey(certificateDER: identity.certificateDER, peerName: identity.peerName.description, localPublicKeyDER: [1, 2, 3])
            #expect(key?.fingerprint == identity.fingerprint)
            // The key must give the name it is stored under.
            #expect(ContactKey(certificateDER: identity.certificateDER, peerName: "aaaa", localPublicKeyDER: [1]) == nil)
        }
    }

    @Test func damagedCertificatesGiveNil() throws {
        let der = try identity().certificateDER
        #expect(ContactKey.subjectPublicKeyInfo(ofCertificate: []) == nil)
        #expect(ContactKey.subjectPublicKeyInfo(ofCertificate: [0x30]) == nil)
        #expect(ContactKey.subjectPublicKeyInfo(ofCertificate: [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]) == nil)
        #expect(ContactKey.subjectPublicKeyInfo(ofCertificate: [0x30, 0x03, 0x30, 0x01, 0x00]) == nil)
        for length in 0..<der.count {
            #expect(ContactKey.subjectPublicKeyInfo(ofCertificate: Array(der.prefix(length))) == nil, "cut at \(length)")
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            var damaged = der
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            // Either nil or a slice of the input that starts with a SEQUENCE tag.
            if let spki = ContactKey.subjectPublicKeyInfo(ofCertificate: damaged) {
                #expect(spki.first == 0x30)
                #expect(spki.count < damaged.count)
            }
        }
    }
}
