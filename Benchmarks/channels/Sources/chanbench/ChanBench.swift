import DBus
import Foundation

/// Drives two peercollabd (A and B, on their own buses, signed in near each other, B with the
/// application registered): an accepted invitation from A to B, then through its channels
///   throughput — SIZE MiB from A's application to B's, timed from the first byte written to
///                the last read (the bytes are compared after the clock stopped), after 16 MiB
///                untimed through the same channel (tls.py warms its stream alike);
///   ping-pong  — PINGS round trips of 64 bytes, A → B → A, on an otherwise idle channel;
///   bare       — the same link's round trip without a channel (Peer.Refresh on A → B's profile
///                → PropertiesChanged on A), interleaved with the ping-pong;
///   idle       — IDLE channels (at most 60) opened on both sides and held, 16 per invitation: the daemons' VmRSS growth;
///   slow       — B's application stops reading: how much A writes before it blocks, and
///                both daemons' VmRSS growth meanwhile.
/// Usage: chanbench BUS_A BUS_B PID_A PID_B SIZE_MIB PINGS IDLE  (prints one JSON object)
@main
struct ChanBench {
    static let service = "org.peercollab.PeerCollab1"
    static let root: DBusObjectPath = "/org/peercollab/PeerCollab1"
    static let manager = "org.peercollab.PeerCollab1.Manager"
    static let invitation = "org.peercollab.PeerCollab1.Invitation"

    static func main() async throws {
        // Every wait here is on the daemons; none may hang the benchmark.
        Thread {
            Thread.sleep(forTimeInterval: 300)
            fail("still not done after 300 s; see the daemons' logs")
        }.start()
        try await run(CommandLine.arguments)
    }

    nonisolated static func run(_ arguments: [String]) async throws {
        guard arguments.count >= 8 else { fail("usage: chanbench BUS_A BUS_B PID_A PID_B SIZE_MIB PINGS IDLE") }
        let a = try DBusConnection(bus: .address(arguments[1]))
        let b = try DBusConnection(bus: .address(arguments[2]))
        let pids = (Int32(arguments[3]) ?? 0, Int32(arguments[4]) ?? 0)
        let size = (Int(arguments[5]) ?? 100) * 1024 * 1024
        let pings = Int(arguments[6]) ?? 1000
        let idle = Int(arguments[7]) ?? 50

        let peer = try await peerPath(on: a)
        let (onA, onB) = try await acceptedInvitation(a, b, peer)
        var out: [String] = []

        // Throughput.
        let (bulkA, bulkB) = try await openBoth(a, onA, b, onB, "bulk")
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        // The receiving buffer is allocated and touched before the clock starts, as tls.py's
        // is: faulting in 100 MiB of fresh pages is no part of a channel's cost.
        var received = [UInt8](repeating: 1, count: size)
        let warmUp = [UInt8](repeating: 7, count: 16 * 1024 * 1024)
        let warmWriter = Thread { writeAll(bulkA, warmUp) }
        warmWriter.start()
        _ = readExactly(bulkB, warmUp.count)
        let start = ContinuousClock.now
        let writer = Thread { writeAll(bulkA, payload) }
        writer.start()
        readExactly(bulkB, into: &received)
        let elapsed = start.duration(to: .now)
        guard received == payload else { fail("the bulk transfer arrived damaged") }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        out.append("\"throughput\": {\"bytes\": \(size), \"seconds\": \(round3(seconds)), \"mib_per_s\": \(round3(Double(size) / 1_048_576 / seconds))}")

        // Ping-pong and the bare round trip, interleaved.
        let (pingA, pingB) = try await openBoth(a, onA, b, onB, "ping")
        var changes = try await a.subscribe(
            to: DBusMatchRule(sender: service, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged")).makeAsyncIterator()
        var channel: [Double] = []
        var bare: [Double] = []
        let message = [UInt8](repeating: 0x50, count: 64)
        // Profiles are taken at most 5 a second from a peer (docs/dbus-api.md, "Floods"):
        // one bare round trip each 250 ms, the ping-pong in between, until both have their count.
        let bareCount = max(20, pings / 25)
        var rounds = 0
        while channel.count < pings || bare.count < bareCount {
            let until = ContinuousClock.now + .milliseconds(250)
            while ContinuousClock.now < until {
                let t0 = ContinuousClock.now
                writeAll(pingA, message)
                let got = readExactly(pingB, 64)
                writeAll(pingB, got)
                _ = readExactly(pingA, 64)
                let t1 = ContinuousClock.now
                rounds += 1
                if rounds > 50, channel.count < pings { channel.append(milliseconds(t1 - t0)) }
                if channel.count >= pings { break }
            }
            let r0 = ContinuousClock.now
            _ = try await a.call(destination: service, path: peer, interface: "org.peercollab.PeerCollab1.Peer", member: "Refresh")
            _ = await next(&changes, "LastSeen after Refresh") { message in
                message.path == peer.rawValue && message.arguments().dropFirst().first?.vardictValue?["LastSeen"] != nil
            }
            if rounds > 50, bare.count < bareCount { bare.append(milliseconds(ContinuousClock.now - r0)) }
            if channel.count >= pings, bare.count < bareCount { try await Task.sleep(for: .milliseconds(250)) }
        }
        out.append(figures("pingpong_64b", channel))
        out.append(figures("bare_refresh_roundtrip", bare))

        // Memory per idle channel.
        sleepSeconds(2)
        let before = (rss(pids.0), rss(pids.1))
        var held: [(Int32, Int32)] = []
        // At most 16 channels per invitation: the idle ones go on invitations of their own.
        var spare: [(DBusObjectPath, DBusObjectPath)] = []
        for index in 0..<idle {
            if index % 16 == 0 { spare.append(try await acceptedInvitation(a, b, peer)) }
            let (x, y) = spare[spare.count - 1]
            held.append(try await openBoth(a, x, b, y, "idle-\(index)"))
        }
        sleepSeconds(3)
        let after = (rss(pids.0), rss(pids.1))
        out.append("\"idle\": {\"channels\": \(idle), \"rss_a_before_kib\": \(before.0), \"rss_a_after_kib\": \(after.0), \"rss_b_before_kib\": \(before.1), \"rss_b_after_kib\": \(after.1), \"per_channel_a_bytes\": \((after.0 - before.0) * 1024 / max(1, idle)), \"per_channel_b_bytes\": \((after.1 - before.1) * 1024 / max(1, idle))}")
        for (x, y) in held { close(x); close(y) }

        // A reader that stops.
        let (slowA, _) = try await openBoth(a, onA, b, onB, "slow")
        sleepSeconds(2)
        let slowBefore = (rss(pids.0), rss(pids.1))
        let written = writeUntilBlocked(slowA, maximum: 256 * 1024 * 1024)
        let slowAfter = (rss(pids.0), rss(pids.1))
        out.append("\"slow_reader\": {\"written_before_blocking\": \(written), \"rss_a_growth_kib\": \(slowAfter.0 - slowBefore.0), \"rss_b_growth_kib\": \(slowAfter.1 - slowBefore.1)}")
        print("{" + out.joined(separator: ", ") + "}")
        _ = bulkA
        _ = pingB
    }

    // MARK: Setup

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("chanbench: \(message)\n".utf8))
        exit(1)
    }

    static func peerPath(on a: DBusConnection) async throws -> DBusObjectPath {
        for _ in 0..<600 {
            let reply = try await a.call(
                destination: service, path: root, interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
            if case .dictionary(_, _, let entries)? = reply.first {
                for entry in entries {
                    if let path = entry.key.objectPathValue, path.rawValue.hasPrefix(root.rawValue + "/peer/") { return path }
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        fail("A never saw B")
    }

    static func acceptedInvitation(_ a: DBusConnection, _ b: DBusConnection, _ peer: DBusObjectPath) async throws -> (DBusObjectPath, DBusObjectPath) {
        var received = try await b.subscribe(
            to: DBusMatchRule(sender: service, path: root, interface: manager, member: "InvitationReceived")).makeAsyncIterator()
        let reply = try await a.call(
            destination: service, path: root, interface: manager, member: "Invite",
            arguments: [.objectPath(peer), .string("org.example.Bench"), .string("bench"), .bytes([]), .uint32(3600)])
        guard let outgoing = reply.first?.objectPathValue else { fail("Invite returned no path") }
        let signal = await next(&received, "InvitationReceived") { _ in true }
        guard let incoming = signal.arguments().first?.objectPathValue else { fail("InvitationReceived without a path") }
        _ = try await b.call(destination: service, path: incoming, interface: invitation, member: "Accept")
        for _ in 0..<200 {
            let state = try await a.call(
                destination: service, path: outgoing, interface: "org.freedesktop.DBus.Properties", member: "Get",
                arguments: [.string(invitation), .string("State")])
            if state.first?.variantValue?.stringValue == "accepted" { return (outgoing, incoming) }
            try await Task.sleep(for: .milliseconds(25))
        }
        fail("the invitation never became accepted on A")
    }

    static func open(_ connection: DBusConnection, _ path: DBusObjectPath, _ name: String) async throws -> Int32 {
        let reply = try await connection.call(destination: service, path: path, interface: invitation, member: "OpenChannel", arguments: [.string(name)])
        guard case .unixFD(let handle)? = reply.first else { fail("OpenChannel returned no descriptor") }
        return fcntl(handle.fileDescriptor, F_DUPFD_CLOEXEC, 0)
    }

    static func openBoth(_ a: DBusConnection, _ onA: DBusObjectPath, _ b: DBusConnection, _ onB: DBusObjectPath, _ name: String) async throws -> (Int32, Int32) {
        (try await open(a, onA, name), try await open(b, onB, name))
    }

    static func next(_ iterator: inout AsyncStream<DBusMessage>.Iterator, _ what: String, _ match: (DBusMessage) -> Bool) async -> DBusMessage {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard let message = await iterator.next() else { break }
            if match(message) { return message }
        }
        fail("never saw \(what)")
    }

    // MARK: Sockets (blocking)

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 { if errno == EINTR { continue }; fail("write failed: errno \(errno)") }
            offset += written
        }
    }

    static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        readExactly(fd, into: &result)
        return result
    }

    static func readExactly(_ fd: Int32, into result: inout [UInt8]) {
        let count = result.count
        var offset = 0
        while offset < count {
            // Into the whole array's buffer: a mutated slice of it would be copied each time.
            let got = result.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, count - offset, 0) }
            if got < 0 { if errno == EINTR { continue }; fail("read failed: errno \(errno)") }
            if got == 0 { fail("end of stream after \(offset) of \(count) bytes") }
            offset += got
        }
    }

    static func writeUntilBlocked(_ fd: Int32, maximum: Int) -> Int {
        let chunk = [UInt8](repeating: 0x33, count: 64 * 1024)
        var total = 0
        while total < maximum {
            let written = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if written > 0 { total += written; continue }
            var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&entry, 1, 2000) <= 0 { break }
        }
        return total
    }

    // MARK: Figures

    static func rss(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    static func sleepSeconds(_ seconds: Int) { Thread.sleep(forTimeInterval: Double(seconds)) }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    static func figures(_ name: String, _ values: [Double]) -> String {
        let sorted = values.sorted()
        func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * q).rounded(.up)) - 1))] }
        return "\"\(name)\": {\"p50_ms\": \(round3(at(0.5))), \"p99_ms\": \(round3(at(0.99))), \"max_ms\": \(round3(sorted.last ?? 0)), \"n\": \(sorted.count)}"
    }
}
