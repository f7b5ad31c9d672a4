import DBus
import Foundation
import Testing

/// An idle daemon must not wake: no timers of its own, none of libdispatch's (whose worker
/// pool polls once a second once it has run anything), no watchdog unless systemd asks.
@Suite struct IdleWakeupTests {
    /// Voluntary context switches of each thread of `pid`, by thread id.
    static func switches(of pid: Int32) throws -> [String: Int] {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        var result: [String: Int] = [:]
        for task in tasks {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("voluntary_ctxt_switches:") }),
                let count = Int(line.split(separator: "\t").last ?? "")
            else { continue }
            result[task] = count
        }
        return result
    }

    @Test func anIdleDaemonsThreadsDoNotWakeFor3Seconds() async throws {
        let bus = try PrivateBus()
        defer { bus.stop() }
        let client = try DBusConnection(bus: .address(bus.address))
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        // Let start-up finish (the name is taken before every service has settled).
        try await Task.sleep(for: .seconds(2))
        let before = try Self.switches(of: daemon.pid)
        try await Task.sleep(for: .seconds(3))
        let after = try Self.switches(of: daemon.pid)
        // A thread that appeared in the window woke at least once; one that left did too.
        var wakeups = 0
        for (task, count) in after { wakeups += count - (before[task] ?? 0) + (before[task] == nil ? 1 : 0) }
        wakeups += before.keys.filter { after[$0] == nil }.count
        #expect(wakeups <= 1, "the idle daemon's threads woke \(wakeups) times in 3 s: before \(before), after \(after)")
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }
}
