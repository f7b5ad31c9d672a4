import Collaboration
import Foundation
import PeerSecurity
import Synchronization
import Testing

/// How the domain dials peers announced near me: every announcement is dialled once, within
/// the rate limit, none is forgotten while the limit holds, and none after sign-out. Time is
/// the lab's manual clock.
@Suite struct NearbyDialTests {
    /// Peer names nobody holds the key of (only the name's form matters here).
    func names(_ count: Int) -> [PeerName] {
        (0..<count).map { index in PeerName(publicKeyDER: Array("peer \(index)".utf8)) }
    }

    func announce(_ names: [PeerName], to lab: DomainLab) async {
        for (index, name) in names.enumerated() {
            await lab.collaboration.nearbyServiceFound(NearbyService(
                instanceName: "instance-\(index)", claimedPeerName: name,
                endpoints: [ContactEndpoint(host: "192.0.2.\(index + 1)", port: 9)]))
        }
    }

    @Test func manyAnnouncementsAreAllDialledOnceWithinTheRateLimit() async throws {
        let lab = try await DomainLab()
        let dialled = Mutex<[(PeerName, ContinuousClock.Instant)]>([])
        let clock = lab.clock
        await lab.collaboration.setDialer { _, name, scope, _ in
            #expect(scope == .nearMe)
            dialled.withLock { $0.append((name, clock.now)) }
            throw CollaborationError(.peerUnreachable, "nobody there")
        }
        try await lab.collaboration.signIn("near-me")
        let peers = names(30)
        await announce(peers, to: lab)
        // Each peer's first dial (those that failed are dialled again later, after the others).
        let firstDials = { dialled.withLock { attempts in
            attempts.enumerated().filter { index, attempt in !attempts[..<index].contains { $0.0 == attempt.0 } }.map(\.element)
        } }
        try await settle("the first ten") { firstDials().count == 10 }
        for step in 1...40 {
            await lab.advance(by: .milliseconds(50))
            do {
                try await settle("dials by step \(step)") { firstDials().count == min(30, 10 + step / 2) }
            } catch {
                let all = dialled.withLock { $0 }
                let base = all[0].1
                print("Dials so far at step \(step) (peer@time):", all.map { "\(peers.firstIndex(of: $0.0)!)@\(base.duration(to: $0.1))" }.joined(separator: " "))
                throw error
            }
        }
        let attempts = firstDials()
        #expect(Set(attempts.map(\.0)) == Set(peers), "every announced peer is dialled")
        // The bucket holds 10 and refills at 10 a second: the last of 30 goes 2 s after the first.
        #expect(attempts.first!.1.duration(to: attempts.last!.1) == .seconds(2))
    }

    @Test func signingOutForgetsQueuedDials() async throws {
        let lab = try await DomainLab()
        let dialled = Mutex(0)
        await lab.collaboration.setDialer { _, _, _, _ in
            dialled.withLock { $0 += 1 }
            throw CollaborationError(.peerUnreachable, "nobody there")
        }
        try await lab.collaboration.signIn("near-me")
        await announce(names(40), to: lab)
        try await settle("the first ten") { dialled.withLock { $0 } == 10 }
        try await lab.collaboration.signOut("near-me")
        #expect(await lab.collaboration.nextDeadline == nil, "a dial is still planned after sign-out")
        for _ in 0..<20 { await lab.advance(by: .milliseconds(100)) }
        #expect(dialled.withLock { $0 } == 10, "dialled after sign-out")
    }
}
