import DBus
import Testing

/// Every standard error the object server owes a caller who got something wrong.
@Suite("Standard errors for wrong calls", .timeLimit(.minutes(1)))
struct StandardErrorTests {
    static let properties = "org.freedesktop.DBus.Properties"

    /// Calls `member` and returns the D-Bus error it failed with (nil if it did not fail).
    private func failure(
        _ pair: BusPair, _ path: DBusObjectPath, _ interface: String?, _ member: String, _ arguments: [DBusValue] = []
    ) async throws -> DBusError? {
        let message = try DBusMessage.methodCall(
            destination: pair.server.uniqueName, path: path, interface: interface, member: member)
        try message.append(arguments)
        do {
            _ = try await pair.client.call(message, timeout: .seconds(10))
            return nil
        } catch let error as DBusError {
            return error
        }
    }

    private func exportedPair() async throws -> BusPair {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        try await PropertyObject.export(on: pair, store: PropertyObject.Values())
        return pair
    }

    @Test("unknown object → UnknownObject")
    func unknownObject() async throws {
        let pair = try await exportedPair()
        let error = try await failure(pair, "/org/example/Nowhere", EchoObject.interfaceName, "Echo", [.variant(.int32(1))])
        #expect(error?.name == DBusError.StandardName.unknownObject)
        let props = try await failure(pair, "/org/example/Nowhere", Self.properties, "GetAll", [.string("a.b")])
        #expect(props?.name == DBusError.StandardName.unknownObject)
        let introspect = try await failure(pair, "/org/example/Nowhere", "org.freedesktop.DBus.Introspectable", "Introspect")
        #expect(introspect?.name == DBusError.StandardName.unknownObject)
    }

    @Test("unknown interface → UnknownInterface")
    func unknownInterface() async throws {
        let pair = try await exportedPair()
        let error = try await failure(pair, EchoObject.path, "org.example.NotHere", "Echo", [.variant(.int32(1))])
        #expect(error?.name == DBusError.StandardName.unknownInterface)
        // Only object managers answer ObjectManager.
        let manager = try await failure(pair, EchoObject.path, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        #expect(manager?.name == DBusError.StandardName.unknownInterface)
        let props = try await failure(pair, EchoObject.path, Self.properties, "GetAll", [.string("org.example.NotHere")])
        #expect(props?.name == DBusError.StandardName.unknownInterface)
    }

    @Test("unknown method → UnknownMethod, with or without an interface")
    func unknownMethod() async throws {
        let pair = try await exportedPair()
        let error = try await failure(pair, EchoObject.path, EchoObject.interfaceName, "Nope")
        #expect(error?.name == DBusError.StandardName.unknownMethod)
        let bare = try await failure(pair, EchoObject.path, nil, "Nope")
        #expect(bare?.name == DBusError.StandardName.unknownMethod)
        let properties = try await failure(pair, EchoObject.path, Self.properties, "Delete", [.string("x")])
        #expect(properties?.name == DBusError.StandardName.unknownMethod)
        let introspect = try await failure(pair, EchoObject.path, "org.freedesktop.DBus.Introspectable", "Inspect")
        #expect(introspect?.name == DBusError.StandardName.unknownMethod)
    }

    @Test("a method without interface is found by name")
    func methodWithoutInterface() async throws {
        let pair = try await exportedPair()
        let message = try DBusMessage.methodCall(
            destination: pair.server.uniqueName, path: EchoObject.path, interface: nil, member: "Echo")
        try message.append(.variant(.string("x")))
        let reply = try await pair.client.call(message)
        #expect(reply.arguments() == [.variant(.string("x"))])
    }

    @Test("wrong argument signature → InvalidArgs", arguments: [
        [DBusValue.string("not a variant")], [], [.variant(.int32(1)), .variant(.int32(2))],
    ])
    func wrongSignature(_ arguments: [DBusValue]) async throws {
        let pair = try await exportedPair()
        let error = try await failure(pair, EchoObject.path, EchoObject.interfaceName, "Echo", arguments)
        #expect(error?.name == DBusError.StandardName.invalidArgs)
        let dict = try await failure(
            pair, EchoObject.path, EchoObject.interfaceName, "EchoDict", [.dictionary(key: .string, value: .string, [])])
        #expect(dict?.name == DBusError.StandardName.invalidArgs)
    }

    @Test("Properties.Get of an unknown property → UnknownProperty")
    func unknownProperty() async throws {
        let pair = try await exportedPair()
        let error = try await failure(
            pair, PropertyObject.path, Self.properties, "Get", [.string(PropertyObject.interfaceName), .string("Colour")])
        #expect(error?.name == DBusError.StandardName.unknownProperty)
        let set = try await failure(
            pair, PropertyObject.path, Self.properties, "Set",
            [.string(PropertyObject.interfaceName), .string("Colour"), .variant(.string("red"))])
        #expect(set?.name == DBusError.StandardName.unknownProperty)
    }

    @Test("Properties.Set of a read-only property → PropertyReadOnly")
    func readOnly() async throws {
        let pair = try await exportedPair()
        let error = try await failure(
            pair, PropertyObject.path, Self.properties, "Set",
            [.string(PropertyObject.interfaceName), .string("Count"), .variant(.uint32(9))])
        #expect(error?.name == DBusError.StandardName.propertyReadOnly)
    }

    @Test("Properties.Set with a value of the wrong type → InvalidArgs, and nothing changes")
    func setWrongType() async throws {
        let pair = try await exportedPair()
        let error = try await failure(
            pair, PropertyObject.path, Self.properties, "Set",
            [.string(PropertyObject.interfaceName), .string("Name"), .variant(.int32(5))])
        #expect(error?.name == DBusError.StandardName.invalidArgs)
        let name = try await pair.call(
            PropertyObject.path, Self.properties, "Get", [.string(PropertyObject.interfaceName), .string("Name")])
        #expect(name == [.variant(.string("initial"))])
    }

    @Test("Properties calls with the wrong signature → InvalidArgs", arguments: ["Get", "GetAll", "Set"])
    func propertiesWrongSignature(_ member: String) async throws {
        let pair = try await exportedPair()
        let wrong: [DBusValue] = [.string(PropertyObject.interfaceName), .int32(1), .int32(2), .int32(3)]
        let error = try await failure(pair, PropertyObject.path, Self.properties, member, wrong)
        #expect(error?.name == DBusError.StandardName.invalidArgs)
        let tooFew = try await failure(pair, PropertyObject.path, Self.properties, member, [])
        #expect(tooFew?.name == DBusError.StandardName.invalidArgs)
    }
}
