import DBus
import Foundation

/// Drives two peercollabd (A and B, on their own buses, signed in near each other):
///   latency  — Invite on A → InvitationReceived on B → Accept() on B → A sees State accepted,
///              and the bare round trip on the same channel (Peer.Refresh on A → B's profile →
///              PropertiesChanged on A's Peer object), interleaved, N each;
///   memory   — ROUNDS × COUNT invitations with a 1 s timeout, left to expire and be withdrawn;
///              prints the daemons' VmRSS before and after each round.
/// Usage: invitebench latency BUS_A BUS_B COUNT WARMUP | invitebench memory BUS_A BUS_B PID_A PID_B COUNT ROUNDS SETTLE
@main
struct InviteBench {
    static let service = "org.peercollab.PeerCollab1"
    static let root: DBusObjectPath = "/org/peercollab/PeerCollab1"
    static let manager = "org.peercollab.PeerCollab1.Manager"
    static let invitation = "org.peercollab.PeerCollab1.Invitation"
    static let app = "org.example.Bench"

    static func main() async throws {
        let arguments = CommandLine.arguments
        guard arguments.count >= 4 else { fail("usage: invitebench latency|memory BUS_A BUS_B …") }
        let a = try DBusConnection(bus: .address(arguments[2]))
        let b = try DBusConnection(bus: .address(arguments[3]))
        let peerB = try await peerPath(on: a)
        switch arguments[1] {
        case "latency":
            try await latency(a, b, peerB, count: Int(arguments[4]) ?? 200, warmup: Int(arguments[5]) ?? 20)
        case "memory":
            try await memory(
                a, b, peerB, pids: (Int32(arguments[4]) ?? 0, Int32(arguments[5]) ?? 0), count: Int(arguments[6]) ?? 1000,
                rounds: Int(arguments[7]) ?? 2, settle: Int(arguments[8]) ?? 5)
        default:
            fail("unknown mode \(arguments[1])")
        }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("invitebench: \(message)\n".utf8))
        exit(1)
    }

    /// The one Peer object A shows (B), waited for up to 30 s.
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

    static func invite(_ a: DBusConnection, _ peer: DBusObjectPath, timeout: UInt32) async throws -> DBusObjectPath {
        let reply = try await a.call(
            destination: service, path: root, interface: manager, member: "Invite",
            arguments: [.objectPath(peer), .string(app), .string("bench"), .bytes([1, 2, 3]), .uint32(timeout)])
        guard let path = reply.first?.objectPathValue else { fail("Invite returned no path") }
        return path
    }

    /// Waits for the next message on `stream` that `match` accepts, bounded by 10 s.
    static func next(_ iterator: inout AsyncStream<DBusMessage>.Iterator, _ what: String, _ match: (DBusMessage) -> Bool) async -> DBusMessage {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard let message = await iterator.next() else { break }
            if match(message) { return message }
        }
        fail("never saw \(what)")
    }

    static func latency(_ a: DBusConnection, _ b: DBusConnection, _ peer: DBusObjectPath, count: Int, warmup: Int) async throws {
        var received = try await b.subscribe(
            to: DBusMatchRule(sender: service, path: root, interface: manager, member: "InvitationReceived")).makeAsyncIterator()
        var changes = try await a.subscribe(
            to: DBusMatchRule(sender: service, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged")).makeAsyncIterator()
        var total: [Double] = []
        var delivery: [Double] = []
        var accept: [Double] = []
        var bare: [Double] = []
        let clock = ContinuousClock()
        for round in 0..<(warmup + count) {
            // The invitation, start to the inviter seeing it accepted.
            let start = clock.now
            let outgoing = try await invite(a, peer, timeout: 60)
            let signal = await next(&received, "InvitationReceived") { _ in true }
            let arrived = clock.now
            guard let incoming = signal.arguments().first?.objectPathValue else { fail("InvitationReceived without a path") }
            _ = try await b.call(destination: service, path: incoming, interface: invitation, member: "Accept")
            let accepted = clock.now
            _ = await next(&changes, "State accepted on A") { message in
                message.path == outgoing.rawValue && message.arguments().dropFirst().first?.vardictValue?["State"]?.stringValue == "accepted"
            }
            let seen = clock.now
            // The bare round trip on the same link: Refresh → B's profile → PropertiesChanged.
            let refresh = clock.now
            _ = try await a.call(destination: service, path: peer, interface: "org.peercollab.PeerCollab1.Peer", member: "Refresh")
            _ = await next(&changes, "LastSeen after Refresh") { message in
                message.path == peer.rawValue && message.arguments().dropFirst().first?.vardictValue?["LastSeen"] != nil
            }
            let refreshed = clock.now
            guard round >= warmup else { continue }
            total.append(milliseconds(seen - start))
            delivery.append(milliseconds(arrived - start))
            accept.append(milliseconds(accepted - arrived))
            bare.append(milliseconds(refreshed - refresh))
        }
        func figures(_ name: String, _ values: [Double]) -> String {
            let sorted = values.sorted()
            func at(_ q: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)] }
            return "\"\(name)\": {\"p50_ms\": \(round3(at(0.5))), \"p99_ms\": \(round3(at(0.99))), \"max_ms\": \(round3(sorted.last ?? 0)), \"n\": \(sorted.count)}"
        }
        print("{" + [
            figures("invite_to_accepted_seen", total), figures("invite_to_received", delivery),
            figures("accept_call", accept), figures("bare_refresh_roundtrip", bare),
        ].joined(separator: ", ") + "}")
    }

    static func memory(
        _ a: DBusConnection, _ b: DBusConnection, _ peer: DBusObjectPath, pids: (Int32, Int32), count: Int, rounds: Int, settle: Int
    ) async throws {
        var rows: [String] = []
        func sample(_ label: String) {
            rows.append("{\"after\": \"\(label)\", \"rss_a_kib\": \(rss(pids.0)), \"rss_b_kib\": \(rss(pids.1))}")
        }
        sample("start")
        for round in 1...rounds {
            for _ in 0..<count { _ = try await invite(a, peer, timeout: 1) }
            // Expire (1 s), then the retention the run set (1 s), then settle.
            try await Task.sleep(for: .seconds(2 + settle))
            let left = try await a.call(
                destination: service, path: root, interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
            var objects = 0
            if case .dictionary(_, _, let entries)? = left.first {
                objects = entries.count { $0.key.objectPathValue?.rawValue.contains("/invitation/") == true }
            }
            if objects != 0 { fail("\(objects) invitation objects still on A after round \(round)") }
            sample("round \(round)")
        }
        print("[" + rows.joined(separator: ", ") + "]")
    }

    static func rss(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
        }
        return -1
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    static func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}
