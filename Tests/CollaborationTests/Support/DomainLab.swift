@testable import Collaboration
import Foundation
import Logging
import PeerProtocol
import PeerSecurity
import Synchronization

/// A clock a test moves by hand: the domain's rules about time run in milliseconds.
final class ManualClock: DomainClock {
    private let instant = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { instant.withLock { $0 } }
    func advance(by duration: Duration) { instant.withLock { $0 += duration } }
}

/// A link as the network layer would hand it to the domain, recording what the domain sends.
final class FakeLink: PeerLink {
    let id: Int
    let isOutgoing: Bool
    let remoteEndpoint: ContactEndpoint?
    let isOnLocalNetwork: Bool
    let capabilities: Set<PeerCapability>
    private let record = Mutex<(sent: [PeerMessage], goodbyes: [PeerGoodbye], probes: [Duration])>(([], [], []))

    init(
        id: Int, isOutgoing: Bool = true, remote: ContactEndpoint? = ContactEndpoint(host: "192.0.2.7", port: 46773),
        onLocalNetwork: Bool = true, capabilities: Set<PeerCapability> = [.presence, .objects, .invitations, .listeningPort]
    ) {
        self.id = id
        self.isOutgoing = isOutgoing
        remoteEndpoint = remote
        isOnLocalNetwork = onLocalNetwork
        self.capabilities = capabilities
    }

    func send(_ message: PeerMessage) { record.withLock { $0.sent.append(message) } }
    func close(_ goodbye: PeerGoodbye) { record.withLock { $0.goodbyes.append(goodbye) } }
    func probe(within: Duration) { record.withLock { $0.probes.append(within) } }

    var sent: [PeerMessage] { record.withLock { $0.sent } }
    var goodbyes: [PeerGoodbye] { record.withLock { $0.goodbyes } }
    var probes: [Duration] { record.withLock { $0.probes } }
}

/// What the domain announced, in order.
final class EventLog: Sendable {
    let events = Mutex<[CollaborationEvent]>([])
}

/// One domain with a manual clock, the events it announced, and peers to connect to it.
struct DomainLab {
    let collaboration: Collaboration
    let clock = ManualClock()
    let identity: PeerIdentity
    let log = EventLog()

    init() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("domain-\(UUID().uuidString)")
        let dataDirectory = folder.appendingPathComponent("data").path
        identity = try PeerIdentity.loadOrCreate(directory: dataDirectory)
        collaboration = try Collaboration(
            store: SettingsStore(directory: folder.appendingPathComponent("config")), dataDirectory: dataDirectory,
            identity: LocalIdentity(identity), accountName: "tester", logger: Logger(label: "test"), clock: clock)
        let log = self.log
        await collaboration.observe { event in log.events.withLock { $0.append(event) } }
    }

    /// A key pair for someone else, with what the domain sees when that peer proves it.
    func stranger() throws -> (identity: PeerIdentity, authenticated: PeerAuthenticated) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("peer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let other = try PeerIdentity.loadOrCreate(directory: folder.path)
        return (other, PeerAuthenticated(certificate: other.certificate, localPublicKeyDER: identity.certificate.publicKeyDER))
    }

    /// Connects a peer near me over `link` and delivers its profile: it is shown.
    @discardableResult
    func connect(_ link: FakeLink, displayName: String = "Ada") async throws -> PeerAuthenticated {
        let peer = try stranger().authenticated
        guard await collaboration.linkEstablished(link, peer: peer, scope: .nearMe) else { throw DomainLabError("the link was refused") }
        await collaboration.linkReceived(link.id, .profile(PeerProfile(displayName: displayName, presence: PeerPresence(status: .online))))
        return peer
    }

    /// Moves the clock and lets the domain act on what became due.
    func advance(by duration: Duration) async {
        clock.advance(by: duration)
        await collaboration.deadlinesPassed()
    }

    /// The events announced so far, and forgets them.
    func takeEvents() -> [CollaborationEvent] {
        log.events.withLock { events in
            defer { events = [] }
            return events
        }
    }
}

/// Waits (bounded: 2 s) for work the domain started off its actor (dials, which run on
/// the dialer's own task) to get as far as `condition` says.
func settle(_ what: String, _ condition: () async -> Bool) async throws {
    for _ in 0..<2_000 {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(1))
    }
    throw DomainLabError("never happened: \(what)")
}

struct DomainLabError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
