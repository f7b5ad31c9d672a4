import DBus
import Testing

/// org.freedesktop.DBus.Properties served from the declarations, and PropertiesChanged as
/// each property's EmitsChangedSignal says, seen by a separate client.
@Suite("Properties", .timeLimit(.minutes(1)))
struct PropertiesTests {
    static let properties = "org.freedesktop.DBus.Properties"

    private func get(_ pair: BusPair, _ name: String) async throws -> DBusValue? {
        let reply = try await pair.call(
            PropertyObject.path, Self.properties, "Get", [.string(PropertyObject.interfaceName), .string(name)])
        #expect(reply.count == 1)
        return reply.first?.variantValue
    }

    @Test("Get returns each property's value in a variant")
    func getEach() async throws {
        let pair = try await BusPair.start()
        try await PropertyObject.export(on: pair, store: PropertyObject.Values())
        #expect(try await get(pair, "Name") == .string("initial"))
        #expect(try await get(pair, "Count") == .uint32(1))
        #expect(try await get(pair, "Serial") == .string("SN-0001"))
        #expect(try await get(pair, "Quiet") == .int32(-1))
        #expect(try await get(pair, "Tags") == .strings(["a", "b"]))
    }

    @Test("GetAll returns every property of the interface, and all interfaces for an empty name")
    func getAll() async throws {
        let pair = try await BusPair.start()
        try await PropertyObject.export(on: pair, store: PropertyObject.Values())
        try await pair.server.objects.export(
            [DBusInterface(name: "org.example.Other", properties: [DBusProperty("Extra", .boolean) { .boolean(true) }])],
            at: PropertyObject.path)
        let reply = try await pair.call(PropertyObject.path, Self.properties, "GetAll", [.string(PropertyObject.interfaceName)])
        #expect(reply.first?.signature == "a{sv}")
        let all = try #require(reply.first?.vardictValue)
        #expect(all == [
            "Name": .string("initial"), "Count": .uint32(1), "Serial": .string("SN-0001"), "Quiet": .int32(-1),
            "Tags": .strings(["a", "b"]),
        ])
        let everything = try await pair.call(PropertyObject.path, Self.properties, "GetAll", [.string("")])
        let merged = try #require(everything.first?.vardictValue)
        #expect(merged.count == 6)
        #expect(merged["Extra"] == .boolean(true))
    }

    @Test("Set stores the value; a setter's own error reaches the caller")
    func set() async throws {
        let pair = try await BusPair.start()
        let values = PropertyObject.Values()
        try await PropertyObject.export(on: pair, store: values)
        let reply = try await pair.call(
            PropertyObject.path, Self.properties, "Set",
            [.string(PropertyObject.interfaceName), .string("Name"), .variant(.string("renamed"))])
        #expect(reply.isEmpty)
        #expect(values.name.get() == "renamed")
        #expect(try await get(pair, "Name") == .string("renamed"))

        let error = await #expect(throws: DBusError.self) {
            _ = try await pair.call(
                PropertyObject.path, Self.properties, "Set",
                [.string(PropertyObject.interfaceName), .string("Name"), .variant(.string(""))])
        }
        #expect(error == .invalidArgs("A name cannot be empty."))
        #expect(values.name.get() == "renamed")
    }

    @Test("PropertiesChanged: value for emitsValue, name for invalidates, nothing for const and false")
    func propertiesChanged() async throws {
        let pair = try await BusPair.start()
        let values = PropertyObject.Values()
        try await PropertyObject.export(on: pair, store: values)
        let changes = try await pair.client.subscribe(to: DBusMatchRule(
            sender: pair.server.uniqueName, path: PropertyObject.path,
            interface: Self.properties, member: "PropertiesChanged"))

        let objects = pair.server.objects
        // Neither may produce a signal; if one did, it would arrive before the next ones.
        try await objects.emitPropertiesChanged(path: PropertyObject.path, interface: PropertyObject.interfaceName, properties: ["Serial"])
        values.quiet.set(42)
        try await objects.emitPropertiesChanged(path: PropertyObject.path, interface: PropertyObject.interfaceName, properties: ["Quiet"])
        values.name.set("announced")
        try await objects.emitPropertiesChanged(path: PropertyObject.path, interface: PropertyObject.interfaceName, properties: ["Name"])
        values.count.set(5)
        try await objects.emitPropertiesChanged(path: PropertyObject.path, interface: PropertyObject.interfaceName, properties: ["Count"])
        try await objects.emitPropertiesChanged(
            path: PropertyObject.path, interface: PropertyObject.interfaceName,
            properties: ["Name", "Count", "Serial", "Quiet", "NoSuchProperty"])

        let first = try await changes.next("PropertiesChanged for Name").arguments()
        #expect(first.count == 3)
        #expect(first[0] == .string(PropertyObject.interfaceName))
        #expect(first[1].vardictValue == ["Name": .string("announced")])
        #expect(first[2] == .strings([]))
        #expect(first[2].signature == "as")

        let second = try await changes.next("PropertiesChanged for Count").arguments()
        #expect(second[1].vardictValue == [:])
        #expect(second[1].signature == "a{sv}")
        #expect(second[2].stringArrayValue == ["Count"])

        let third = try await changes.next("PropertiesChanged for several").arguments()
        #expect(third[1].vardictValue == ["Name": .string("announced")])
        #expect(third[2].stringArrayValue == ["Count"])
    }

    @Test("the signal comes from the object's path and the server's unique name")
    func signalHeader() async throws {
        let pair = try await BusPair.start()
        try await PropertyObject.export(on: pair, store: PropertyObject.Values())
        let changes = try await pair.client.subscribe(to: DBusMatchRule(interface: Self.properties))
        try await pair.server.objects.emitPropertiesChanged(
            path: PropertyObject.path, interface: PropertyObject.interfaceName, properties: ["Name"])
        let signal = try await changes.next("PropertiesChanged")
        #expect(signal.kind == .signal)
        #expect(signal.sender == pair.server.uniqueName)
        #expect(signal.path == PropertyObject.path.rawValue)
        #expect(signal.member == "PropertiesChanged")
        #expect(signal.signature == "sa{sv}as")
    }
}
