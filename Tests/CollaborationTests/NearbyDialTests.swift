import Collaboration
import Foundation
import Logging
import PeerSecurity
import Synchronization
import Testing

/// How the domain dials peers announced near me: every announcement is dialled once, within
/// the rate limit, and none is forgotten while the limit holds.
@Suite struct NearbyDialTests {
    func makeCollaboration() throws -> Collaboration {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nearby-\(UUID().uuidString)")
        return try Collaboration(
            store: SettingsStore(directory: folder.appendingPathComponent("config")),
            dataDirectory: folder.appendingPathComponent("data").path,
            identity: LocalIdentity(PeerIdentity.loadOrCreate(directory: folder.appendingPathComponent("data").path)),
            accountName: "tester", logger: Logger(label: "test"))
    }

    /// Peer names nobody holds the key of (only the name's form matters here).
    func names(_ count: Int) throws -> [PeerName] {
        (0..<count).map { index in PeerName(publicKeyDER: Array("peer \(index)".utf8)) }
    }

    @Test func manyAnnouncementsAreAllDialledWithinTheRateLimit() async throws {
        let collaboration = try makeCollaboration()
        let dialled = Mutex<[(PeerName, ContinuousClock.Instant)]>([])
        await collaboration.setDialer { _, name, scope in
            #expect(scope == .nearMe)
            dialled.withLock { $0.append((name, .now)) }
            throw CollaborationError(.peerUnreachable, "nobody there")
        }
        try await collaboration.signIn("near-me")
        let peers = try names(30)
        for (index, name) in peers.enumerated() {
            await collaboration.nearbyServiceFound(NearbyService(
                instanceName: "instance-\(index)", claimedPeerName: name,
                endpoints: [ContactEndpoint(host: "192.0.2.\(index + 1)", port: 9)]))
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while dialled.withLock({ $0.count }) < 30, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let attempts = dialled.withLock { $0 }
        #expect(Set(attempts.map(\.0)) == Set(peers), "every announced peer is dialled once")
        #expect(attempts.count == 30)
        // The bucket holds 10 and refills at 10 a second: 30 dials take at least ~2 s.
        let span = attempts.first!.1.duration(to: attempts.last!.1)
        #expect(span >= .milliseconds(1500))
    }

    @Test func signingOutForgetsQueuedDials() async throws {
        let collaboration = try makeCollaboration()
        let dialled = Mutex(0)
        await collaboration.setDialer { _, _, _ in
            dialled.withLock { $0 += 1 }
            throw CollaborationError(.peerUnreachable, "nobody there")
        }
        try await collaboration.signIn("near-me")
        for (index, name) in try names(40).enumerated() {
            await collaboration.nearbyServiceFound(NearbyService(
                instanceName: "instance-\(index)", claimedPeerName: name,
                endpoints: [ContactEndpoint(host: "192.0.2.1", port: 9)]))
        }
        try await collaboration.signOut("near-me")
        // Dials the domain started before the sign-out may still reach the dialer after it
        // (the dialer runs off the actor): at most the 16 allowed under way at once. After
        // them nothing more: the queue drains every 100 ms while it holds anything.
        try await Task.sleep(for: .milliseconds(300))
        let settled = dialled.withLock { $0 }
        try await Task.sleep(for: .milliseconds(600))
        #expect(dialled.withLock { $0 } == settled, "no dial after sign-out")
        #expect(settled <= 16)
    }
}
