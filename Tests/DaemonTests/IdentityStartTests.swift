import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// A started daemon knows its peer name and fingerprint from `identity.cache` and loads its
/// key (and with it OpenSSL) only when something needs it; what it shows is the same
/// either way, and a key that went bad meanwhile fails that request, not the daemon.
@Suite struct IdentityStartTests {
    /// The card's KEY line, unfolded: the certificate (endpoints and REV change between starts).
    private func certificateLine(_ card: String?) -> String? {
        card?.replacingOccurrences(of: "\r\n ", with: "").split(separator: "\r\n").first { $0.hasPrefix("KEY;") }.map(String.init)
    }

    /// Starts a daemon in `home`, waits for its name, returns it.
    private func start(_ bus: PrivateBus, _ client: DBusConnection, _ home: URL) async throws -> DaemonProcess {
        let daemon = try DaemonProcess(bus: bus, home: home)
        try await daemon.waitUntilServing(client)
        return daemon
    }

    private func stop(_ daemon: DaemonProcess) async throws {
        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0, "\(daemon.log)")
    }

    private func temporaryHome() throws -> URL {
        try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
    }

    @Test func aRestartShowsTheSameIdentityFromItsSummaryAndLoadsTheKeyWhenNeeded() async throws {
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        let home = try temporaryHome()

        let first = try await start(bus, client, home)
        #expect(first.log.contains("Identity loaded"), "\(first.log)")
        let peerName = try #require(try await client.managerProperty("PeerName").stringValue)
        let fingerprint = try #require(try await client.managerProperty("Fingerprint").stringValue)
        let certificate = try #require(certificateLine(try await client.managerCall("GetContactCard").first?.stringValue))
        try await stop(first)
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("data/identity.cache").path))

        let second = try await start(bus, client, home)
        #expect(second.log.contains("Identity known from its summary"), "\(second.log)")
        #expect(try await client.managerProperty("PeerName").stringValue == peerName)
        #expect(try await client.managerProperty("Fingerprint").stringValue == fingerprint)
        // The card needs the certificate itself: loaded now, and the same as before.
        #expect(certificateLine(try await client.managerCall("GetContactCard").first?.stringValue) == certificate)
        try await client.managerCall("SignIn", [.string("near-me")])
        #expect(try await client.managerProperty("SignedIn").arrayElements?.compactMap(\.stringValue) == ["near-me"])
        try await stop(second)
    }

    @Test func aKeyDamagedWhileTheDaemonRunsFailsSignInWithTheReasonAndTheDaemonServesOn() async throws {
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        let home = try temporaryHome()
        try await stop(try await start(bus, client, home))
        let daemon = try await start(bus, client, home)
        let peerName = try await client.managerProperty("PeerName").stringValue

        // Overwritten in place (same file, same mode): the daemon has not read it yet.
        let keyPath = home.appendingPathComponent("data/key.pem").path
        let handle = try #require(FileHandle(forWritingAtPath: keyPath))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n".utf8))
        try handle.close()

        for (member, arguments) in [("SignIn", [DBusValue.string("near-me")]), ("GetContactCard", [])] {
            do {
                try await client.managerCall(member, arguments)
                Issue.record("\(member) succeeded with a damaged key")
            } catch let error as DBusError {
                #expect(error.name == PeerCollabErrorName.failed.busName, "\(member): \(error)")
                #expect(error.message.contains(keyPath), "\(member): \(error.message)")
                #expect(error.message.contains("Move it away"), "\(member): \(error.message)")
            }
        }
        #expect(try await client.managerProperty("SignedIn").arrayElements?.isEmpty == true)
        #expect(try await client.managerProperty("PeerName").stringValue == peerName)
        #expect(daemon.isRunning)
        try await stop(daemon)
    }
}
