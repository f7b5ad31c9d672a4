import DBus
import Foundation
import Testing
import TestSupport

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

    /// Wake-ups of `pid`'s threads between two snapshots of `switches(of:)`; a thread that
    /// appeared or left in between woke at least once.
    static func wakeups(from before: [String: Int], to after: [String: Int]) -> Int {
        var wakeups = 0
        for (task, count) in after { wakeups += count - (before[task] ?? 0) + (before[task] == nil ? 1 : 0) }
        wakeups += before.keys.filter { after[$0] == nil }.count
        return wakeups
    }

    /// A watchdog ping is one timer firing: the thread that waits for the deadline wakes,
    /// pings and goes back to waiting. It used to wake a second pool thread as well (the job
    /// that ends `Task.sleep` enqueued the sleeping task, which signalled the idle thread).
    @Test func aWatchdogPingWakesOneThread() async throws {
        let notify = try DatagramSink()
        let bus = try PrivateBus()
        defer { bus.stop() }
        let client = try DBusConnection(bus: .address(bus.address))
        // 200 ms: a ping every 100 ms, so a few seconds hold dozens of them.
        let daemon = try DaemonProcess(
            bus: bus, environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"])
        try await daemon.waitUntilServing(client)
        try await Task.sleep(for: .seconds(2))
        _ = notify.drain()
        let before = try Self.switches(of: daemon.pid)
        try await Task.sleep(for: .seconds(3))
        let after = try Self.switches(of: daemon.pid)
        let pings = notify.drain().filter { $0.split(separator: "\n").contains("WATCHDOG=1") }.count
        let wakeups = Self.wakeups(from: before, to: after)
        #expect(pings >= 10, "expected a watchdog ping every 100 ms, got \(pings) in 3 s")
        // One wake-up per ping, with room for a ping that fell on either edge of the window.
        #expect(
            wakeups <= pings + pings / 4 + 2,
            "\(pings) watchdog pings woke the daemon's threads \(wakeups) times: before \(before), after \(after)")
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
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
        let wakeups = Self.wakeups(from: before, to: after)
        #expect(wakeups <= 1, "the idle daemon's threads woke \(wakeups) times in 3 s: before \(before), after \(after)")
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }
}

/// A datagram socket standing in for systemd's `NOTIFY_SOCKET`, read without blocking.
private final class DatagramSink {
    let path: String
    private let descriptor: Int32

    init() throws {
        path = NSTemporaryDirectory() + "/peercollab-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw TestFailure("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            close(descriptor)
            throw TestFailure("bind \(path) failed: errno \(errno)")
        }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Every datagram waiting now (at most 10,000).
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while messages.count < 10_000 {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard count > 0 else { break }
            messages.append(String(decoding: buffer[..<count], as: UTF8.self))
        }
        return messages
    }
}
