import DBus
import Foundation
import Testing
import TestSupport

/// A key file others can read, or one wrong value in settings.json, costs only what needs
/// it: the daemon starts and serves, says what is wrong (log, Diagnose), and refuses only
/// signing in, with the exact fix, until the key is put right.
@Suite struct DamagedSetupTests {
    /// Diagnose's checks by subject: (ok, detail).
    static func checks(_ client: DBusConnection) async throws -> [String: (ok: Bool, detail: String)] {
        let report = try #require(try await client.managerCall("Diagnose").first?.vardictValue)
        var checks: [String: (ok: Bool, detail: String)] = [:]
        for entry in report["checks"]?.arrayElements ?? [] {
            guard let fields = entry.structureFields, fields.count == 4, let subject = fields[0].stringValue,
                let ok = fields[1].boolValue, let detail = fields[2].stringValue
            else { continue }
            checks[subject] = (ok, detail)
        }
        return checks
    }

    @Test(arguments: [0o644, 0o640] as [Int])
    func aKeyOthersCanReadLetsTheDaemonServeAndSignInSaysTheFix(mode: Int) async throws {
        let home = try HardeningTests.emptyHome()
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        defer { client.close() }
        let first = try DaemonProcess(bus: bus, home: home)
        try await first.waitUntilServing(client)
        let peerName = try #require(try await client.managerProperty("PeerName").stringValue)
        first.signal(SIGTERM)
        #expect(try await first.waitForExit() == 0)

        let key = first.dataDirectory.appendingPathComponent("key.pem").path
        #expect(chmod(key, mode_t(mode)) == 0)
        let daemon = try DaemonProcess(bus: bus, home: home)
        defer { daemon.signal(SIGKILL) }
        try await daemon.waitUntilServing(client)
        #expect(try await client.managerProperty("PeerName").stringValue == peerName)
        #expect(daemon.log.contains("chmod 600 \(key)"), "\(daemon.log)")
        do {
            try await client.managerCall("SignIn", [.string("near-me")])
            Issue.record("SignIn succeeded with a key mode \(String(mode, radix: 8))")
        } catch let error as DBusError {
            #expect(error.message.contains("chmod 600 \(key)"), "\(error.name): \(error.message)")
        }
        let key0 = try #require(try await Self.checks(client)["key"])
        #expect(!key0.ok && key0.detail.contains("chmod 600 \(key)"), "\(key0)")
        // Put right, it works at once, without a restart.
        #expect(chmod(key, 0o600) == 0)
        try await client.managerCall("SignIn", [.string("near-me")])
        #expect(try await client.managerProperty("SignedIn").arrayElements?.isEmpty == false)
        #expect(try await Self.checks(client)["key"] == nil)
    }

    @Test func wrongValuesInSettingsAreIgnoredOneByOneAndNamed() async throws {
        let home = try HardeningTests.emptyHome()
        let config = home.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try #"{"discoveryBackend": "avahii", "invitationRetentionSeconds": "ten", "invitationPolicy": "contacts", "autoIdel": false}"#
            .write(to: config.appendingPathComponent("settings.json"), atomically: true, encoding: .utf8)
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        defer { client.close() }
        let daemon = try DaemonProcess(bus: bus, home: home)
        defer { daemon.signal(SIGKILL) }
        try await daemon.waitUntilServing(client)
        // The good value holds; each bad one is named with its value in the log and Diagnose.
        #expect(try await client.managerProperty("InvitationPolicy").stringValue == "contacts")
        #expect(daemon.log.contains(#"discoveryBackend = "avahii": expected one of auto, avahi, builtin"#), "\(daemon.log)")
        #expect(daemon.log.contains(#"invitationRetentionSeconds = "ten""#), "\(daemon.log)")
        let settings = try #require(try await Self.checks(client)["settings"])
        #expect(!settings.ok)
        for part in [#"discoveryBackend = "avahii""#, #"invitationRetentionSeconds = "ten""#, "unknown key autoIdel (value false)"] {
            #expect(settings.detail.contains(part), "\(settings.detail)")
        }
        // It serves: signing in works, with the default discovery.
        try await client.managerCall("SignIn", [.string("near-me")])
        #expect(try await client.managerProperty("SignedIn").arrayElements?.isEmpty == false)
    }
}
