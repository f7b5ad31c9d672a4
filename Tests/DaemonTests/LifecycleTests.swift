import DBus
import Foundation
import Testing
import TestSupport

/// How the daemon ends and starts when the world around it is not as it should be: the bus
/// vanishing under it, a damaged or newer store.
@Suite struct LifecycleTests {
    /// The other services once ended in the wrong order and the network service ignored
    /// cancellation, so a daemon whose bus went away hung forever (and then ignored SIGTERM).
    /// The race showed in about half of the runs, so several rounds. It exits with status 75
    /// (EX_TEMPFAIL), not 0, so that systemd's Restart=on-failure starts it again.
    @Test(arguments: 0..<4)
    func theDaemonExitsWithStatus75WhenItsBusGoesAway(round: Int) async throws {
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        bus.stop()
        let status = try await daemon.waitForExit(timeout: .seconds(15))
        #expect(status == 75, "\(daemon.log)")
        #expect(daemon.log.contains("The bus went away"), "\(daemon.log)")
    }

    @Test func aDamagedStoreIsMovedAsideAndTheDaemonServesAndSaysWhere() async throws {
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        let home = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        let data = home.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let garbage = Data(repeating: 0x42, count: 10_000)
        try garbage.write(to: data.appendingPathComponent("peercollab.db"))
        let daemon = try DaemonProcess(bus: bus, home: home)
        try await daemon.waitUntilServing(client)
        let copies = try FileManager.default.contentsOfDirectory(atPath: data.path).filter { $0.hasPrefix("peercollab.db.damaged-") }
        #expect(copies.count == 1)
        let copy = try #require(copies.first)
        #expect(try Data(contentsOf: data.appendingPathComponent(copy)) == garbage)
        #expect(daemon.log.contains(copy), "\(daemon.log)")
        let doctor = try await ProcessRunner.run(ProcessRunner.ctlPath, ["doctor", "--bus", bus.address])
        #expect(doctor.standardOutput.contains(copy), "\(doctor.standardOutput)")
    }

    @Test func aStoreFromANewerPeercollabStopsTheDaemonAndIsLeftAlone() async throws {
        let bus = try PrivateBus()
        let home = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        let data = home.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let database = data.appendingPathComponent("peercollab.db").path
        let made = try await ProcessRunner.run("/usr/bin/sqlite3", [database, "CREATE TABLE future (x); PRAGMA user_version = 999;"])
        try #require(made.status == 0, "\(made.standardError)")
        let before = try Data(contentsOf: URL(filePath: database))
        let daemon = try DaemonProcess(bus: bus, home: home)
        #expect(try await daemon.waitForExit() != 0)
        #expect(daemon.log.contains("written by a newer peercollab"), "\(daemon.log)")
        #expect(daemon.log.contains(database), "\(daemon.log)")
        #expect(try Data(contentsOf: URL(filePath: database)) == before)
    }
}
