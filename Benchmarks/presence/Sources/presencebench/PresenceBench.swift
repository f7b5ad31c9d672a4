import DBus
import Foundation
import NIOCore
import NIOPosix
import PeerProtocol
import PeerSecurity
import Synchronization

/// presencebench latency PUBLISHER_BUS OBSERVER_BUS PATH COUNT [KEY_PREFIX]
///   SetPresence on the publisher's daemon, time until PropertiesChanged(PresenceStatus) on
///   the observer's Peer object (…/peer/NAME) or Contact object (…/contact/NAME) for it; and,
///   as the yardstick, Properties.Get round trips to the observer's daemon. Prints one JSON
///   object, its keys prefixed with KEY_PREFIX (so that two runs go into one file).
/// presencebench fanout BUS HOST PORT PEER_NAME SUBSCRIBERS ROUNDS
///   SUBSCRIBERS simulated peers (TLS 1.3 sessions made with PeerSecurity and PeerProtocol)
///   connect to the daemon; each round sets the presence once and times until every peer
///   received the presenceUpdate. Prints one JSON object.
@main
struct PresenceBench {
    static let service = "org.peercollab.PeerCollab1"
    static let root: DBusObjectPath = "/org/peercollab/PeerCollab1"
    static let manager = "org.peercollab.PeerCollab1.Manager"

    static func main() async throws {
        let arguments = CommandLine.arguments
        switch arguments.dropFirst().first {
        case "latency" where arguments.count == 6 || arguments.count == 7:
            try await latency(publisher: arguments[2], observer: arguments[3], peerPath: try DBusObjectPath(arguments[4]), count: Int(arguments[5]) ?? 200,
                              keyPrefix: arguments.count == 7 ? arguments[6] : "")
        case "fanout" where arguments.count == 8:
            try await fanout(bus: arguments[2], host: arguments[3], port: Int(arguments[4]) ?? 0, peerName: arguments[5],
                             subscribers: Int(arguments[6]) ?? 100, rounds: Int(arguments[7]) ?? 20)
        default:
            FileHandle.standardError.write(Data("usage: presencebench latency PUBLISHER_BUS OBSERVER_BUS PATH COUNT [KEY_PREFIX] | fanout BUS HOST PORT PEER_NAME SUBSCRIBERS ROUNDS\n".utf8))
            exit(64)
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func percentiles(_ values: [Double]) -> String {
        let sorted = values.sorted()
        func at(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))] }
        return String(format: "{\"n\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}", sorted.count, at(0.5), at(0.99), sorted.last ?? 0)
    }

    static func latency(publisher: String, observer: String, peerPath: DBusObjectPath, count: Int, keyPrefix: String) async throws {
        // A contact's object carries the same presence properties as a peer's, on its own interface.
        let observed = peerPath.rawValue.contains("/contact/") ? "org.peercollab.PeerCollab1.Contact" : "org.peercollab.PeerCollab1.Peer"
        let a = try DBusConnection(bus: .address(publisher))
        let b = try DBusConnection(bus: .address(observer))
        let changes = try await b.subscribe(to: DBusMatchRule(path: peerPath, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
        // Arrival times are taken as each signal is read, so the polling below does not
        // add to them.
        let arrivals = Arrivals()
        let reader = Task {
            for await signal in changes {
                if let message = signal.arguments().dropFirst().first?.vardictValue?["PresenceMessage"]?.stringValue {
                    arrivals.record(message, at: .now)
                }
            }
        }
        defer { reader.cancel() }
        var samples: [Double] = []
        let statuses = ["busy", "away", "on-the-phone", "be-right-back"]
        for index in 0..<(count + 10) {
            let message = "change \(index)"
            let start = ContinuousClock.now
            _ = try await a.call(destination: service, path: root, interface: manager, member: "SetPresence",
                                 arguments: [.string(statuses[index % statuses.count]), .string(message)])
            var arrived: ContinuousClock.Instant?
            for _ in 0..<50_000 where arrived == nil {  // at most about 5 s
                arrived = arrivals.span(message)?.0
                if arrived == nil { try await Task.sleep(for: .microseconds(100)) }
            }
            guard let arrived else { throw BenchError("update \(index) did not arrive") }
            if index >= 10 { samples.append(milliseconds(arrived - start)) }
            // Below the receiver's rate limit (5 a second from one peer), which would
            // otherwise be what is measured.
            try await Task.sleep(until: start + .milliseconds(250))
        }
        var roundTrips: [Double] = []
        for _ in 0..<count {
            let start = ContinuousClock.now
            _ = try await b.call(destination: service, path: peerPath, interface: "org.freedesktop.DBus.Properties", member: "Get",
                                 arguments: [.string(observed), .string("PresenceStatus")])
            roundTrips.append(milliseconds(ContinuousClock.now - start))
        }
        print("{\"\(keyPrefix)presence_to_properties_changed\": \(percentiles(samples)), \"\(keyPrefix)dbus_get_round_trip\": \(percentiles(roundTrips))}")
    }

    static func fanout(bus: String, host: String, port: Int, peerName: String, subscribers: Int, rounds: Int) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let arrivals = Arrivals()
        var peers: [any Channel] = []
        let scratch = FileManager.default.temporaryDirectory.appending(path: "presencebench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let expected = try PeerName(parsing: peerName)
        for index in 0..<subscribers {
            let identity = try PeerIdentity.loadOrCreate(directory: scratch.appending(path: "\(index)").path)
            let secure = try SecureChannel(identity: identity)
            let established = group.next().makePromise(of: Void.self)
            let connection = try await secure.clientConnect(group: group, host: host, port: port, expecting: expected) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PeerFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(PeerSessionHandler(hello: PeerHello(
                        versions: PeerProtocolLimits.supportedVersions, capabilities: [.presence], softwareVersion: "presencebench")))
                    try channel.pipeline.syncOperations.addHandler(Subscriber(arrivals: arrivals, established: established))
                }
            }
            try await established.futureResult.get()
            peers.append(connection.channel)
        }
        let a = try DBusConnection(bus: .address(bus))
        // Wait (bounded) until the daemon shows every simulated peer.
        for _ in 0..<200 {
            let reply = try await a.call(destination: service, path: root, interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
            if case .dictionary(_, _, let entries)? = reply.first, entries.count >= subscribers { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        var all: [Double] = []
        var first: [Double] = []
        for round in 0..<(rounds + 2) {
            let message = "round \(round)"
            let start = ContinuousClock.now
            _ = try await a.call(destination: service, path: root, interface: manager, member: "SetPresence",
                                 arguments: [.string(round % 2 == 0 ? "busy" : "away"), .string(message)])
            var done = false
            for _ in 0..<5000 where !done {
                done = arrivals.count(message) >= subscribers
                if !done { try await Task.sleep(for: .milliseconds(1)) }
            }
            guard done, let (earliest, latest) = arrivals.span(message) else {
                throw BenchError("round \(round): only \(arrivals.count(message)) of \(subscribers) peers got the update")
            }
            if round >= 2 {
                all.append(milliseconds(latest - start))
                first.append(milliseconds(earliest - start))
            }
        }
        print("{\"subscribers\": \(subscribers), \"all_received\": \(percentiles(all)), \"first_received\": \(percentiles(first))}")
        for peer in peers { try? await peer.close() }
        try await group.shutdownGracefully()
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// When each simulated peer got each presence message.
final class Arrivals: Sendable {
    private let times = Mutex<[String: [ContinuousClock.Instant]]>([:])

    func record(_ message: String, at instant: ContinuousClock.Instant) {
        times.withLock { $0[message, default: []].append(instant) }
    }

    func count(_ message: String) -> Int { times.withLock { $0[message]?.count ?? 0 } }

    func span(_ message: String) -> (ContinuousClock.Instant, ContinuousClock.Instant)? {
        times.withLock { entries in
            guard let list = entries[message], let low = list.min(), let high = list.max() else { return nil }
            return (low, high)
        }
    }
}

/// One simulated subscriber; lives on its channel's event loop.
final class Subscriber: ChannelInboundHandler {
    typealias InboundIn = PeerMessage
    let arrivals: Arrivals
    let established: EventLoopPromise<Void>
    var settled = false

    init(arrivals: Arrivals, established: EventLoopPromise<Void>) {
        self.arrivals = arrivals
        self.established = established
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .established = event as? PeerSessionEvent, !settled {
            settled = true
            established.succeed(())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .presenceUpdate(let presence) = unwrapInboundIn(data) {
            arrivals.record(presence.message, at: .now)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !settled {
            settled = true
            established.fail(ChannelError.ioOnClosedChannel)
        }
        context.fireChannelInactive()
    }
}
