import DBus
import Synchronization
import Testing

/// Values D-Bus cannot carry are refused with a typed error while the message is built, on
/// the caller's side; nothing reaches the bus and the process does not abort inside libdbus.
@Suite("Invalid values are refused before sending", .timeLimit(.minutes(1)))
struct InvalidValueTests {
    static let invalid: [(String, DBusValue)] = [
        ("NUL in a string", .string("before\0after")),
        ("NUL in a nested string", .vardict(["k": .string("a\0")])),
        ("array holding a different element type", .array(element: .string, [.string("a"), .int32(1)])),
        ("array whose element signature is two types", .array(element: DBusSignature.sequence([.int32, .int32]), [])),
        ("dictionary entry of the wrong type", .dictionary(key: .string, value: .int32, [DBusDictionaryEntry(.string("a"), .uint32(1))])),
        ("dictionary keyed by a variant", .dictionary(key: .variant, value: .int32, [])),
        ("empty struct", .structure([])),
        ("empty struct inside a struct", .structure([.int32(1), .structure([])])),
        ("empty struct in a variant", .variant(.structure([]))),
        ("empty struct deep in a variant", .variant(.structure([.structure([])]))),
        ("malformed signature value", .signature(.structure([]))),
        ("dictionary signature with a container key as a value", .signature(.dictionary(.variant, .string))),
    ]

    @Test("appending to a message throws InvalidArgs", arguments: invalid.map(\.0))
    func appendThrows(_ name: String) throws {
        let value = Self.invalid.first { $0.0 == name }!.1
        let message = try DBusMessage.methodCall(
            destination: ":1.1", path: "/a", interface: "org.example.I", member: "M")
        let error = try #require(throws: DBusError.self) { try message.append(value) }
        #expect(error.name == DBusError.StandardName.invalidArgs)
        #expect(!error.message.isEmpty)
    }

    @Test("a call with an invalid value throws and the server never sees it", arguments: invalid.map(\.0))
    func callThrowsBeforeSending(_ name: String) async throws {
        let value = Self.invalid.first { $0.0 == name }!.1
        let pair = try await BusPair.start()
        let calls = Mutex(0)
        let interface = DBusInterface(
            name: "org.example.Counter",
            methods: [
                DBusMethod("Take", in: [DBusArgument("value", .variant)]) { _ in
                    calls.withLock { $0 += 1 }
                    return []
                },
                DBusMethod("Count", out: [DBusArgument("n", .int32)]) { _ in [.int32(Int32(calls.withLock { $0 }))] },
            ])
        try await pair.server.objects.export([interface], at: "/counter")
        let error = await #expect(throws: DBusError.self) {
            _ = try await pair.call("/counter", "org.example.Counter", "Take", [.variant(value)])
        }
        #expect(error?.name == DBusError.StandardName.invalidArgs)
        // Calls on one connection arrive in order: had Take been sent, Count would see it.
        let count = try await pair.call("/counter", "org.example.Counter", "Count")
        #expect(count == [.int32(0)])
        #expect(pair.client.isConnected)
    }

    @Test("after a refused value the message still holds exactly what was appended before")
    func bodyUnchangedAfterFailure() throws {
        let message = try DBusMessage.methodCall(
            destination: ":1.1", path: "/a", interface: "org.example.I", member: "M")
        try message.append(.int32(7))
        #expect(throws: DBusError.self) {
            try message.append([.string("fine"), .array(element: .string, [.string("a"), .boolean(true)])])
        }
        #expect(throws: DBusError.self) { try message.append(.variant(.array(element: .int32, [.string("x")]))) }
        try message.append(.string("after"))
        #expect(message.signature == "is")
        #expect(message.arguments() == [.int32(7), .string("after")])
    }

    @Test("invalid names are refused with InvalidArgs")
    func invalidNames() throws {
        #expect(throws: DBusError.self) {
            _ = try DBusMessage.methodCall(destination: "no spaces allowed", path: "/a", interface: nil, member: "M")
        }
        #expect(throws: DBusError.self) {
            _ = try DBusMessage.methodCall(destination: nil, path: "/a", interface: "noDots", member: "M")
        }
        #expect(throws: DBusError.self) {
            _ = try DBusMessage.methodCall(destination: nil, path: "/a", interface: nil, member: "Bad.Member")
        }
        // Through variables: a literal argument would pick the literal initializer.
        for text in ["/trailing/", "no/leading", "/double//slash", "/bad-char", ""] {
            #expect(throws: DBusError.self) { _ = try DBusObjectPath(text) }
        }
        let bad = "a{vs}"
        let error = try #require(throws: DBusError.self) { _ = try DBusSignature(bad) }
        #expect(error.name == DBusError.StandardName.invalidSignature)
        for text in ["(", "()", "a", "{sv}", String(repeating: "a", count: 40) + "i", String(repeating: "i", count: 256)] {
            #expect(throws: DBusError.self) { _ = try DBusSignature(text) }
        }
    }

    @Test("a signal to an invalid destination is refused")
    func signalToInvalidDestination() async throws {
        let pair = try await BusPair.start()
        let error = try #require(throws: DBusError.self) {
            try pair.server.emitSignal(
                path: "/a", interface: "org.example.I", member: "S", destination: "not a bus name")
        }
        #expect(error.name == DBusError.StandardName.invalidArgs)
        #expect(pair.server.isConnected)
    }
}
