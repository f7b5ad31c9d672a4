import NIOCore
import NIOPosix
import PeerSecurity

#if canImport(Glibc)
import Glibc
#endif

/// `hold`: opens `--count` sessions with the daemon, each with its own identity, at most
/// `--concurrency` handshaking at once (the daemon drops new connections past 64 pending),
/// prints one JSON line once all are established, then keeps them open, idle apart from
/// the protocol's keepalives, until killed.
enum IdleSessions {
    static func run(_ options: Options) async throws {
        let port = try options.int("port")
        let expected = try PeerName(parsing: try options.string("expect"))
        let count = try options.int("count")
        let concurrency = max(1, try options.int("concurrency", default: 8))
        let channels = try identities(in: try options.string("identities"), count: count)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        let stopwatch = Stopwatch()
        let sessions = try await withThrowingTaskGroup(of: OpenSession.self) { tasks in
            var next = 0
            var open: [OpenSession] = []
            // A sliding window: a new connection starts as one finishes.
            while next < min(concurrency, count) {
                let channel = channels[next]
                tasks.addTask { try await openSession(channel, group: group, port: port, expecting: expected) }
                next += 1
            }
            for try await session in tasks {
                open.append(session)
                if next < count {
                    let channel = channels[next]
                    tasks.addTask { try await openSession(channel, group: group, port: port, expecting: expected) }
                    next += 1
                }
            }
            return open
        }
        print("{\"client\": \"hold\", \"count\": \(sessions.count), \"open_s\": \(stopwatch.wallSeconds), \(Summary(sessions.map(\.establishedMicroseconds)).json("established"))}")
        fflush(nil)
        // Keeps the sessions (and the process) alive; run.sh ends it with SIGTERM.
        while true {
            try await Task.sleep(for: .seconds(3600))
            withExtendedLifetime(sessions) {}
        }
    }
}
