import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// RegisterApplication and the Application objects on a real bus, and that they survive a restart.
@Suite struct ApplicationRegistrationTests {
    let bus: PrivateBus
    let client: DBusConnection
    static let application = PeerCollabBus.Interface.application

    init() throws {
        bus = try PrivateBus()
        client = try DBusConnection(bus: .address(bus.address))
    }

    func register(_ id: String, _ info: [String: DBusValue]) async throws -> DBusObjectPath {
        let reply = try await client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: DaemonProcess.manager,
            member: "RegisterApplication", arguments: [.string(id), .vardict(info)])
        return try #require(reply.first?.objectPathValue)
    }

    func applications() async throws -> [DBusObjectPath: [String: DBusValue]] {
        let reply = try await client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root,
            interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
        guard case .dictionary(_, _, let entries)? = reply.first else { return [:] }
        var result: [DBusObjectPath: [String: DBusValue]] = [:]
        for entry in entries {
            guard let path = entry.key.objectPathValue, case .dictionary(_, _, let interfaces) = entry.value else { continue }
            for interface in interfaces where interface.key.stringValue == Self.application {
                result[path] = interface.value.vardictValue
            }
        }
        return result
    }

    func expectInvalid(_ id: String, _ info: [String: DBusValue], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            _ = try await register(id, info)
            Issue.record("\(id) \(info) was accepted", sourceLocation: sourceLocation)
        } catch let error as DBusError {
            #expect(error.name == PeerCollabErrorName.invalidArgument.busName, "\(error)", sourceLocation: sourceLocation)
            #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func registeredApplicationsAreObjectsThatSurviveARestartAndReplaceOnReRegister() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let added = try await client.subscribe(
            to: DBusMatchRule(sender: DaemonProcess.service, interface: "org.freedesktop.DBus.ObjectManager", member: "InterfacesAdded"))
        let path = try await register(
            "org.example.Whiteboard-2",
            [
                "name": .string("Whiteboard"), "description": .string("Draw together"),
                "exec": .strings(["/usr/bin/whiteboard", "--join"]), "data": .bytes([9, 8, 7]), "scope": .string("near-me"),
            ])
        #expect(path.rawValue == "/org/peercollab/PeerCollab1/application/org_2eexample_2eWhiteboard_2d2")
        _ = try await firstElement(of: added, what: "InterfacesAdded for the application") { $0.arguments().first?.objectPathValue == path }
        var properties = try #require(try await applications()[path])
        #expect(properties["Id"]?.stringValue == "org.example.Whiteboard-2")
        #expect(properties["Exec"]?.stringArrayValue == ["/usr/bin/whiteboard", "--join"])
        #expect(properties["Data"]?.bytesValue == [9, 8, 7])
        #expect(properties["Scope"]?.stringValue == "near-me")
        #expect(properties["DesktopId"]?.stringValue == "")

        // An application that starts again registers again: the registration is replaced.
        let changes = try await client.subscribe(
            to: DBusMatchRule(sender: DaemonProcess.service, path: path, interface: "org.freedesktop.DBus.Properties"))
        #expect(try await register("org.example.Whiteboard-2", ["name": .string("Whiteboard 2"), "desktop-id": .string("org.example.Whiteboard.desktop")]) == path)
        let changed = try await firstElement(of: changes, what: "PropertiesChanged after re-registering")
        #expect(changed.arguments().dropFirst().first?.vardictValue?["Name"]?.stringValue == "Whiteboard 2")
        properties = try #require(try await applications()[path])
        #expect(properties["Exec"]?.stringArrayValue == [])
        #expect(properties["Scope"]?.stringValue == "all")

        daemon.signal(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
        let again = try DaemonProcess(bus: bus, home: daemon.home)
        try await again.waitUntilServing(client)
        properties = try #require(try await applications()[path], "the registration survives a restart")
        #expect(properties["DesktopId"]?.stringValue == "org.example.Whiteboard.desktop")

        // Unregister through the object's own method; a second time is NotFound.
        _ = try await client.call(destination: DaemonProcess.service, path: path, interface: Self.application, member: "Unregister")
        #expect(try await applications().isEmpty)
        await #expect(throws: DBusError.self) {
            _ = try await client.call(
                destination: DaemonProcess.service, path: DaemonProcess.root, interface: DaemonProcess.manager,
                member: "UnregisterApplication", arguments: [.string("org.example.Whiteboard-2")])
        }
    }

    @Test func badRegistrationsAreInvalidArgumentAndSayWhy() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let name: [String: DBusValue] = ["name": .string("App")]
        await expectInvalid("whiteboard", name, "reverse-DNS")
        await expectInvalid("org..example", name, "empty element")
        await expectInvalid("org.example." + String(repeating: "a", count: 250), name, "255")
        await expectInvalid("org.example.App", [:], "'name'")
        await expectInvalid("org.example.App", ["name": .string("")], "must not be empty")
        await expectInvalid("org.example.App", ["name": .string(String(repeating: "n", count: 129))], "at most 128")
        await expectInvalid("org.example.App", ["name": .uint32(1)], "must be a string")
        await expectInvalid("org.example.App", ["name": .string("A"), "exec": .string("/bin/true")], "array of strings")
        await expectInvalid("org.example.App", ["name": .string("A"), "exec": .strings(["/bin/true"]), "desktop-id": .string("a.desktop")], "not both")
        await expectInvalid("org.example.App", ["name": .string("A"), "exec": .strings([""])], "start with a program")
        await expectInvalid("org.example.App", ["name": .string("A"), "desktop-id": .string("../evil.desktop")], "desktop entry id")
        await expectInvalid("org.example.App", ["name": .string("A"), "data": .bytes([UInt8](repeating: 0, count: 65537))], "64 KiB")
        await expectInvalid("org.example.App", ["name": .string("A"), "scope": .string("galaxy")], "not a scope")
        await expectInvalid("org.example.App", ["name": .string("A"), "nmae": .string("typo")], "unknown key 'nmae'")
        #expect(try await applications().isEmpty)
        // Sixty-four at most; replacing one of them still works.
        for index in 0..<64 { _ = try await register("org.example.App\(index)", name) }
        await expectInvalid("org.example.App64", name, "64 applications")
        _ = try await register("org.example.App0", ["name": .string("Replaced")])
        #expect(try await applications().count == 64)
        #expect(daemon.isRunning)
    }
}
