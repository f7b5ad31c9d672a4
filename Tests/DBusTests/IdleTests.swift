import DBus
import Foundation
import Testing
import TestSupport

/// An idle connection must not wake up: its event-loop thread sleeps in epoll_wait with no
/// timeout. Checked on the thread's own context-switch counter, which counts every wakeup.
@Suite("Idle connections", .timeLimit(.minutes(1)))
struct IdleTests {
    /// The ids of this process's threads named `dbus-loop`.
    private static func loopThreads() -> Set<String> {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return Set(tasks.filter { tid in
            (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) == "dbus-loop"
        })
    }

    /// Voluntary plus involuntary context switches of thread `tid` so far.
    private static func switches(of tid: String) throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/task/\(tid)/status", encoding: .utf8)
        var total = 0
        for line in status.split(separator: "\n")
        where line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") {
            total += Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
        }
        return total
    }

    /// Connects and finds the new connection's loop thread. Other tests create connections at
    /// the same time, so a try where more than one new loop thread appeared is repeated.
    private static func connectionWithItsThread(on bus: PrivateBus) async throws -> (DBusConnection, String)? {
        for _ in 0..<20 {
            let before = loopThreads()
            let connection = try await bus.connect()
            let new = loopThreads().subtracting(before)
            if new.count == 1, let tid = new.first { return (connection, tid) }
            connection.close()
        }
        return nil
    }

    @Test("an idle connection's loop thread does not wake in 2 s; traffic does wake it")
    func noPeriodicWakeups() async throws {
        let bus = try await PrivateBus.start()
        let found = try await Self.connectionWithItsThread(on: bus)
        let (connection, tid) = try #require(found, "could not single out the new connection's loop thread")
        defer { connection.close() }
        let other = try await bus.connect()
        defer { other.close() }

        // Let the greeting traffic (Hello, NameAcquired) settle: one round trip drains it.
        _ = try await connection.nameOwner("org.freedesktop.DBus")
        // A subscription and a completed call with a timeout leave nothing that ticks.
        let stream = try await connection.subscribe(to: DBusMatchRule(interface: "org.example.Idle"))
        _ = try await connection.call(
            destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus", member: "GetId", timeout: .seconds(1))

        let before = try Self.switches(of: tid)
        // A measuring interval, not a wait for anything: nothing should happen during it.
        try await Task.sleep(for: .seconds(2))
        let idle = try Self.switches(of: tid) - before
        #expect(idle <= 1, "the idle loop thread was switched \(idle) times in 2 s")

        // The counter is the right one: a signal for this connection wakes the thread.
        try other.emitSignal(path: "/i", interface: "org.example.Idle", member: "Wake")
        _ = try await stream.next("the waking signal")
        #expect(try Self.switches(of: tid) > before + idle)
    }

    @Test("each connection has its own named loop thread, gone after close")
    func threadLifetime() async throws {
        let bus = try await PrivateBus.start()
        let found = try await Self.connectionWithItsThread(on: bus)
        let (connection, tid) = try #require(found)
        #expect(Self.loopThreads().contains(tid))
        connection.close()
        // close() joins the thread, so it is gone when close returns.
        #expect(!Self.loopThreads().contains(tid))
    }
}
