import DBus
import Foundation
import Testing
import TestSupport

/// Who I am, as the daemon and peercollabctl show it.
@Suite struct IdentityTests {
    let bus: PrivateBus
    let client: DBusConnection

    init() throws {
        bus = try PrivateBus()
        client = try DBusConnection(bus: .address(bus.address))
    }

    func ctl(_ arguments: [String]) async throws -> ProcessRunner.Output {
        try await ProcessRunner.run(ProcessRunner.ctlPath, arguments + ["--bus", bus.address])
    }

    func manager(_ name: String) async throws -> String {
        try await client.managerProperty(name).stringValue ?? ""
    }

    @Test func thePeerNameStaysAcrossRestartsAndTheKeyFileIsPrivate() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let name = try await manager("PeerName")
        let fingerprint = try await manager("Fingerprint")
        #expect(name.count == 33)
        #expect(fingerprint.split(separator: ":").count == 32)
        let attributes = try FileManager.default.attributesOfItem(atPath: daemon.dataDirectory.appendingPathComponent("key.pem").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        daemon.signal(SIGTERM)
        _ = try await daemon.waitForExit()
        let again = try DaemonProcess(bus: bus, home: daemon.home)
        try await again.waitUntilServing(client)
        #expect(try await manager("PeerName") == name)
        #expect(try await manager("Fingerprint") == fingerprint)
    }

    @Test func whoamiAndCardShowTheIdentity() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        #expect(try await ctl(["set-name", "Grace Hopper"]).status == 0)
        let whoami = try await ctl(["whoami"])
        #expect(whoami.status == 0)
        #expect(whoami.standardOutput.contains(try await manager("PeerName")))
        #expect(whoami.standardOutput.contains("Grace Hopper"))
        let output = daemon.home.appendingPathComponent("me.vcf").path
        #expect(try await ctl(["card", "--output", output]).status == 0)
        let card = try String(contentsOfFile: output, encoding: .utf8)
        #expect(card.hasPrefix("BEGIN:VCARD\r\nVERSION:4.0\r\n"))
        #expect(card.contains("FN:Grace Hopper"))
        let links = try await ctl(["card", "--link"])
        #expect(links.standardOutput.hasPrefix("peercollab:\(try await manager("PeerName"))@127.0.0.1:"))
    }

    @Test func emailIsCheckedStoredAndOnTheCard() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let set = { (value: String) in
            try await client.call(
                destination: DaemonProcess.service, path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties",
                member: "Set", arguments: [.string(DaemonProcess.manager), .string("Email"), .variant(.string(value))])
        }
        await #expect(throws: DBusError.self) { _ = try await set("not an address") }
        _ = try await set("grace@example.org")
        #expect(try await manager("Email") == "grace@example.org")
        #expect(try await ctl(["card"]).standardOutput.contains("EMAIL:grace@example.org"))
    }

    /// The card must be readable by vCard software nobody here wrote (python-vobject).
    @Test(.enabled(if: IdentityTests.vobjectAvailable, "python3 with vobject is needed (dist/install-deps test installs it)"))
    func theContactCardRoundTripsThroughVobject() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        #expect(try await ctl(["set-name", "Zoë Ångström, Jr."]).status == 0)
        let file = daemon.home.appendingPathComponent("card.vcf").path
        #expect(try await ctl(["card", "--output", file]).status == 0)
        let script = """
            import sys, vobject, hashlib, base64, json
            card = vobject.readOne(open(sys.argv[1]).read())
            key = card.key.value
            if isinstance(key, str):
                key = base64.b64decode(key.split(",", 1)[1]) if "," in key else base64.b64decode(key)
            print(json.dumps({"fn": card.fn.value, "sha256": hashlib.sha256(key).hexdigest().upper()}))
            """
        let output = try await ProcessRunner.run("/usr/bin/env", ["python3", "-c", script, file])
        #expect(output.status == 0, "\(output.standardError)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: String])
        #expect(parsed["fn"] == "Zoë Ångström, Jr.")
        #expect(parsed["sha256"] == (try await manager("Fingerprint")).replacingOccurrences(of: ":", with: ""))
    }

    static var vobjectAvailable: Bool {
        (try? ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import vobject"]).status) == 0
    }
}
