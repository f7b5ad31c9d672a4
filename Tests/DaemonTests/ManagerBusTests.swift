import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// The daemon on a real private bus, driven the way users and scripts drive it.
@Suite struct ManagerBusTests {
    let bus: PrivateBus
    let client: DBusConnection

    init() throws {
        bus = try PrivateBus()
        client = try DBusConnection(bus: .address(bus.address))
    }

    func busctl(_ arguments: [String]) async throws -> ProcessRunner.Output {
        try await ProcessRunner.run("/usr/bin/busctl", ["--address=\(bus.address)"] + arguments)
    }

    func getDisplayName() async throws -> String? {
        let reply = try await client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root,
            interface: "org.freedesktop.DBus.Properties", member: "Get",
            arguments: [.string(DaemonProcess.manager), .string("DisplayName")])
        return reply.first?.variantValue?.stringValue
    }

    @Test func busctlReadsAndWritesTheDisplayNameWhichSurvivesARestart() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let version = try await busctl(["get-property", DaemonProcess.service, DaemonProcess.root.rawValue, DaemonProcess.manager, "Version"])
        #expect(version.status == 0)
        #expect(version.standardOutput.hasPrefix("s \""))

        let set = try await busctl(["set-property", DaemonProcess.service, DaemonProcess.root.rawValue, DaemonProcess.manager, "DisplayName", "s", "Zoë at the window"])
        #expect(set.status == 0, "\(set.standardError)")
        #expect(try await getDisplayName() == "Zoë at the window")

        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
        #expect(try await client.nameOwner(DaemonProcess.service) == nil)

        let again = try DaemonProcess(bus: bus, home: daemon.home)
        try await again.waitUntilServing(client)
        #expect(try await getDisplayName() == "Zoë at the window")
    }

    @Test func changingTheDisplayNameEmitsPropertiesChanged() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let changes = try await client.subscribe(to: DBusMatchRule(
            path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
        let setter = try await busctl(["set-property", DaemonProcess.service, DaemonProcess.root.rawValue, DaemonProcess.manager, "DisplayName", "s", "Signal Sam"])
        #expect(setter.status == 0)
        let signal = try await firstElement(of: changes, what: "PropertiesChanged for DisplayName")
        let arguments = signal.arguments()
        #expect(arguments.first?.stringValue == DaemonProcess.manager)
        #expect(arguments.dropFirst().first?.vardictValue?["DisplayName"]?.stringValue == "Signal Sam")
    }

    @Test func badCallsGetTypedErrorsAndTheDaemonKeepsServing() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let root = DaemonProcess.root.rawValue
        let cases: [([String], String)] = [
            (["call", DaemonProcess.service, root, DaemonProcess.manager, "NoSuchMethod"], "Unknown method"),
            (["call", DaemonProcess.service, root, "org.example.Nope", "Foo"], "Unknown interface"),
            (["call", DaemonProcess.service, "/org/peercollab/PeerCollab1/nothing", DaemonProcess.manager, "Foo"], "Unknown object"),
            (["call", DaemonProcess.service, root, "org.freedesktop.DBus.Properties", "Get", "s", DaemonProcess.manager], "Invalid arguments"),
            (["get-property", DaemonProcess.service, root, DaemonProcess.manager, "Nope"], "Unknown property"),
            (["set-property", DaemonProcess.service, root, DaemonProcess.manager, "Version", "s", "9"], "not writable"),
            (["set-property", DaemonProcess.service, root, DaemonProcess.manager, "DisplayName", "u", "7"], "has type 's'"),
            (["set-property", DaemonProcess.service, root, DaemonProcess.manager, "DisplayName", "s", ""], "must not be empty"),
            (["set-property", DaemonProcess.service, root, DaemonProcess.manager, "DisplayName", "s", "tab\there"], "control characters"),
            (["set-property", DaemonProcess.service, root, DaemonProcess.manager, "DisplayName", "s", String(repeating: "x", count: 100_000)], "at most 128"),
        ]
        for (arguments, expected) in cases {
            let output = try await busctl(arguments)
            #expect(output.status != 0, "\(arguments) should fail")
            #expect(output.standardError.contains(expected), "\(arguments): \(output.standardError)")
        }
        // The domain's errors carry the API's error names.
        await #expect(throws: DBusError(name: PeerCollabErrorName.invalidArgument.busName, message: "The display name must not be empty.")) {
            _ = try await client.call(
                destination: DaemonProcess.service, path: DaemonProcess.root,
                interface: "org.freedesktop.DBus.Properties", member: "Set",
                arguments: [.string(DaemonProcess.manager), .string("DisplayName"), .variant(.string(""))])
        }
        // A string of several MiB (more than busctl can pass on a command line).
        await #expect(throws: DBusError.self) {
            _ = try await client.call(
                destination: DaemonProcess.service, path: DaemonProcess.root,
                interface: "org.freedesktop.DBus.Properties", member: "Set",
                arguments: [.string(DaemonProcess.manager), .string("DisplayName"), .variant(.string(String(repeating: "é", count: 4 << 20)))])
        }
        #expect(daemon.isRunning)
        #expect(try await getDisplayName() != nil)
    }

    @Test func aCallerThatVanishesMidCallDoesNotHurtTheDaemon() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        for index in 0..<20 {
            let shortLived = try DBusConnection(bus: .address(bus.address))
            let message = try DBusMessage.methodCall(
                destination: DaemonProcess.service, path: DaemonProcess.root,
                interface: "org.freedesktop.DBus.Properties", member: "Set")
            try message.append([.string(DaemonProcess.manager), .string("DisplayName"), .variant(.string("Ghost \(index)"))])
            try shortLived.send(message)
            shortLived.close()
        }
        #expect(daemon.isRunning)
        let name = try await getDisplayName()
        #expect(name?.hasPrefix("Ghost") == true)
    }

    @Test func aSecondDaemonOnTheSameBusRefusesToStartAndSaysWhy() async throws {
        let first = try DaemonProcess(bus: bus)
        try await first.waitUntilServing(client)
        let second = try DaemonProcess(bus: bus)
        let status = try await second.waitForExit()
        #expect(status != 0)
        #expect(second.log.contains("already owned"), "\(second.log)")
        #expect(first.isRunning)
    }

    @Test func hangupReloadsSettingsChangedOnDisk() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let changes = try await client.subscribe(to: DBusMatchRule(
            path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
        let settings = daemon.configDirectory.appendingPathComponent("settings.json")
        try FileManager.default.createDirectory(at: daemon.configDirectory, withIntermediateDirectories: true)
        try Data(#"{"displayName":"Edited By Hand"}"#.utf8).write(to: settings)
        daemon.signal(SIGHUP)
        _ = try await firstElement(of: changes, what: "PropertiesChanged after SIGHUP")
        #expect(try await getDisplayName() == "Edited By Hand")
    }

    @Test func aDamagedSettingsFileStopsTheDaemonWithAMessageAndIsKept() async throws {
        let home = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        let config = home.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try Data("{ not json".utf8).write(to: config.appendingPathComponent("settings.json"))
        let daemon = try DaemonProcess(bus: bus, home: home)
        #expect(try await daemon.waitForExit() != 0)
        #expect(daemon.log.contains("settings.json is damaged"), "\(daemon.log)")
        #expect(FileManager.default.fileExists(atPath: config.appendingPathComponent("settings.json.damaged").path))
        let original = try String(contentsOf: config.appendingPathComponent("settings.json"), encoding: .utf8)
        #expect(original == "{ not json")
    }

    @Test func theManagerInterfaceFileMatchesTheLiveDaemon() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        try await InterfaceFiles.expectMatch(DaemonProcess.manager, at: DaemonProcess.root, on: client)
    }

    @Test func everyInterfaceFileIsCheckedByATest() throws {
        #expect(try InterfaceFiles.names() == InterfaceFiles.checkedByTests)
    }

}
