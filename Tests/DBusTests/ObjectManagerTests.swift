import DBus
import Testing

/// org.freedesktop.DBus.ObjectManager: what a client watching the manager learns.
@Suite("ObjectManager", .timeLimit(.minutes(1)))
struct ObjectManagerTests {
    static let manager: DBusObjectPath = "/org/example/Things"
    static let objectManager = "org.freedesktop.DBus.ObjectManager"

    private func item(_ name: String) -> DBusInterface {
        DBusInterface(
            name: "org.example.Item",
            methods: [DBusMethod("Touch") { _ in [] }],
            properties: [
                DBusProperty("Label", .string) { .string(name) },
                DBusProperty("Size", .uint64, changeSignal: .constant) { .uint64(UInt64(name.count)) },
            ])
    }

    /// The number of objects in a GetManagedObjects reply.
    private func objectCount(_ reply: [DBusValue]) -> Int? {
        guard reply.count == 1, case .dictionary(.objectPath, _, let entries) = reply[0] else { return nil }
        return entries.count
    }

    /// `a{sa{sv}}` as nested Swift dictionaries.
    private func interfaces(_ value: DBusValue?) -> [String: [String: DBusValue]]? {
        guard case .dictionary(.string, "a{sv}", let entries)? = value else { return nil }
        var result: [String: [String: DBusValue]] = [:]
        for entry in entries {
            guard let name = entry.key.stringValue, let properties = entry.value.vardictValue else { return nil }
            result[name] = properties
        }
        return result
    }

    @Test("exporting below a manager announces InterfacesAdded with properties; GetManagedObjects lists it; unexport announces InterfacesRemoved")
    func lifecycle() async throws {
        let pair = try await BusPair.start()
        pair.server.objects.addObjectManager(at: Self.manager)
        let signals = try await pair.client.subscribe(to: DBusMatchRule(
            sender: pair.server.uniqueName, path: Self.manager, interface: Self.objectManager))

        let empty = try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects")
        #expect(empty.first?.signature == "a{oa{sa{sv}}}")
        #expect(objectCount(empty) == 0)

        try await pair.server.objects.export([item("lamp")], at: "/org/example/Things/lamp")
        let added = try await signals.next("InterfacesAdded") { $0.member == "InterfacesAdded" }
        #expect(added.signature == "oa{sa{sv}}")
        let addedArguments = added.arguments()
        #expect(addedArguments.first == .objectPath("/org/example/Things/lamp"))
        let announced = try #require(interfaces(addedArguments.last))
        #expect(announced["org.example.Item"] == ["Label": .string("lamp"), "Size": .uint64(4)])
        #expect(announced["org.freedesktop.DBus.Properties"] == [:])

        try await pair.server.objects.export([item("desk")], at: "/org/example/Things/room/desk")
        _ = try await signals.next("InterfacesAdded for the desk") { $0.member == "InterfacesAdded" }

        let managed = try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects")
        guard case .dictionary(.objectPath, _, let objects)? = managed.first else {
            Issue.record("GetManagedObjects returned \(managed)")
            return
        }
        #expect(objects.map(\.key) == [.objectPath("/org/example/Things/lamp"), .objectPath("/org/example/Things/room/desk")])
        #expect(interfaces(objects.first?.value)?["org.example.Item"]?["Label"] == .string("lamp"))

        try pair.server.objects.unexport("/org/example/Things/lamp")
        let removed = try await signals.next("InterfacesRemoved") { $0.member == "InterfacesRemoved" }
        #expect(removed.signature == "oas")
        let removedArguments = removed.arguments()
        #expect(removedArguments.first == .objectPath("/org/example/Things/lamp"))
        #expect(removedArguments.last?.stringArrayValue?.contains("org.example.Item") == true)

        let after = try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects")
        #expect(objectCount(after) == 1)
        let gone = await #expect(throws: DBusError.self) {
            _ = try await pair.call("/org/example/Things/lamp", "org.example.Item", "Touch")
        }
        #expect(gone?.name == DBusError.StandardName.unknownObject)
    }

    @Test("adding an interface to an existing object announces only that interface")
    func addInterface() async throws {
        let pair = try await BusPair.start()
        pair.server.objects.addObjectManager(at: Self.manager)
        let signals = try await pair.client.subscribe(to: DBusMatchRule(path: Self.manager, member: "InterfacesAdded"))
        let path: DBusObjectPath = "/org/example/Things/lamp"
        try await pair.server.objects.export([item("lamp")], at: path)
        _ = try await signals.next("the first InterfacesAdded")
        let extra = DBusInterface(name: "org.example.Dimmable", properties: [DBusProperty("Level", .byte) { .byte(3) }])
        try await pair.server.objects.export([extra], at: path)
        let second = try #require(interfaces(try await signals.next("the second InterfacesAdded").arguments().last))
        #expect(second == ["org.example.Dimmable": ["Level": .byte(3)]])

        let error = await #expect(throws: DBusError.self) { try await pair.server.objects.export([extra], at: path) }
        #expect(error?.name == DBusError.StandardName.failed)
    }

    @Test("objects outside the manager are neither announced nor listed")
    func outside() async throws {
        let pair = try await BusPair.start()
        pair.server.objects.addObjectManager(at: Self.manager)
        let signals = try await pair.client.subscribe(to: DBusMatchRule(sender: pair.server.uniqueName, member: "InterfacesAdded"))
        try await pair.server.objects.export([item("elsewhere")], at: "/org/example/Elsewhere")
        try await pair.server.objects.export([item("inside")], at: "/org/example/Things/inside")
        let first = try await signals.next("InterfacesAdded")
        #expect(first.arguments().first == .objectPath("/org/example/Things/inside"))
        let managed = try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects")
        #expect(objectCount(managed) == 1)
    }

    @Test("an object whose properties cannot be read (it is going away) is left out, not an error for the whole list")
    func vanishingObjectIsSkipped() async throws {
        let pair = try await BusPair.start()
        pair.server.objects.addObjectManager(at: Self.manager)
        try await pair.server.objects.export([item("lamp")], at: "/org/example/Things/lamp")
        let leaving = DBusInterface(
            name: "org.example.Item",
            properties: [DBusProperty("Label", .string) { throw DBusError.unknownObject("It has left.") }])
        // Exporting announces it; the announcement fails to read it, as for a peer leaving.
        try? await pair.server.objects.export([leaving], at: "/org/example/Things/ghost")
        let managed = try await pair.call(Self.manager, Self.objectManager, "GetManagedObjects")
        #expect(objectCount(managed) == 1)
    }
}
