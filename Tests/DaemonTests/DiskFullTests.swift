import DBus
import Foundation
import Testing
import TestSupport

/// A full disk: every refused write still gets its clear error, and now the log says so
/// (once, not once per write) and Diagnose's store check fails with advice until writing
/// works again. The disk is a real one: small tmpfs mounts over the daemon's folders in a
/// mount namespace of its own.
@Suite(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"), "needs root and unshare to mount a small tmpfs"))
struct DiskFullTests {
    /// Writes zeros to `path` until the file system refuses (at most `limit` bytes).
    static func fill(_ path: String, limit: Int = 16 << 20) throws -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw TestFailure("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var total = 0
        while total < limit {
            let written = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written <= 0 { break }
            total += written
        }
        return total
    }

    @Test func refusedWritesAreLoggedOnceAndDiagnoseSaysTheDiskIsFull() async throws {
        let home = try HardeningTests.emptyHome()
        for folder in ["data", "config"] {
            try FileManager.default.createDirectory(at: home.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        let mounts = #"mount -t tmpfs -o size=8m tmpfs "$0/data" && mount -t tmpfs -o size=256k tmpfs "$0/config" && exec "$@""#
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        defer { client.close() }
        let daemon = try DaemonProcess(
            bus: bus, home: home, extraArguments: ["--interfaces", "lo"],
            prefix: ["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", mounts, home.path])
        defer { daemon.signal(SIGKILL) }
        try await daemon.waitUntilServing(client)
        try await client.managerCall("SetObject", [.string("before"), .bytes([1, 2, 3])])

        // Fill both file systems, seen through the daemon's own root.
        let root = "/proc/\(daemon.pid)/root"
        let filled = try Self.fill(root + home.appendingPathComponent("data/filler").path)
        _ = try Self.fill(root + home.appendingPathComponent("config/filler").path)
        #expect(filled < 8 << 20)
        var refused = 0
        for round in 0..<40 {
            do {
                try await client.managerCall("SetObject", [.string("full-\(round)"), .bytes(Array(repeating: 7, count: 4096))])
            } catch let error as DBusError {
                refused += 1
                if round == 0 { #expect(error.message.contains("disk is full"), "\(error.name): \(error.message)") }
            }
        }
        await #expect(throws: DBusError.self) { try await HardeningTests.setDisplayName("Full Disk", on: client) }
        #expect(refused == 40)
        // Logged, but not 41 times.
        let lines = daemon.log.components(separatedBy: "\n").filter { $0.contains("A write failed") || $0.contains("Writes still fail") }
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("disk is full") == true, "\(lines)")
        let store = try #require(try await DamagedSetupTests.checks(client)["store"])
        #expect(!store.ok)
        #expect(store.detail.contains("writing fails: 41 failed writes"), "\(store.detail)")

        // Space again: the next write works, and the check is ok again.
        #expect(unlink(root + home.appendingPathComponent("data/filler").path) == 0)
        #expect(unlink(root + home.appendingPathComponent("config/filler").path) == 0)
        try await client.managerCall("SetObject", [.string("after"), .bytes([4, 5, 6])])
        try await HardeningTests.setDisplayName("Room Again", on: client)
        #expect(daemon.log.contains("Writing works again after 41 failed writes"), "\(daemon.log.suffix(2000))")
        let after = try #require(try await DamagedSetupTests.checks(client)["store"])
        #expect(after.ok, "\(after.detail)")
        #expect(try await client.managerProperty("Objects").stringArrayValue == ["after", "before"])
    }
}
