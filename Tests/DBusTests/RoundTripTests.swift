import DBus
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every type of the D-Bus type system, sent in a variant to `Echo` on a second connection and
/// compared with what came back.
@Suite("Round trip of values through a second connection", .timeLimit(.minutes(1)))
struct RoundTripTests {
    static let basicValues: [(String, DBusValue)] = [
        ("byte 0", .byte(0)), ("byte max", .byte(.max)),
        ("true", .boolean(true)), ("false", .boolean(false)),
        ("int16 min", .int16(.min)), ("int16 max", .int16(.max)),
        ("uint16 max", .uint16(.max)),
        ("int32 min", .int32(.min)), ("int32 max", .int32(.max)),
        ("uint32 max", .uint32(.max)),
        ("int64 min", .int64(.min)), ("int64 max", .int64(.max)),
        ("uint64 max", .uint64(.max)), ("uint64 0", .uint64(0)),
        ("double greatest", .double(.greatestFiniteMagnitude)),
        ("double subnormal", .double(.leastNonzeroMagnitude)),
        ("double -0", .double(-0.0)),
        ("double -inf", .double(-.infinity)),
        ("double nan", .double(.nan)),
        ("double nan payload", .double(Double(nan: 0x5_1234, signaling: false))),
        ("empty string", .string("")),
        ("unicode string", .string(String(repeating: "Zoë 日本語 🧑‍🤝‍🧑 e\u{301} \u{FFFD}\u{10FFFF}", count: 2000))),
        ("root path", .objectPath(.root)),
        ("long path", .objectPath("/org/example/a_1/B2/c")),
        ("empty signature", .signature(.empty)),
        ("signature", .signature("a{oa{sa{sv}}}(ibyv)ah")),
    ]

    @Test("basic values keep their exact value", arguments: basicValues.map(\.0))
    func basic(_ name: String) async throws {
        let value = Self.basicValues.first { $0.0 == name }!.1
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let back = try #require(try await EchoObject.echo(value, on: pair))
        #expect(isEquivalent(value, back), "sent \(value), got \(back)")
        #expect(back.signature == value.signature)
    }

    @Test("NaN keeps its bit pattern though NaN != NaN")
    func nanBits() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let nan = Double(nan: 0x2_BEEF, signaling: false)
        let back = try #require(try await EchoObject.echo(.double(nan), on: pair))
        guard case .double(let received) = back else {
            Issue.record("expected a double, got \(back)")
            return
        }
        #expect(received.isNaN)
        #expect(received.bitPattern == nan.bitPattern)
    }

    @Test("a unix fd arrives as a descriptor for the same pipe, usable by the receiver")
    func unixFD() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        let readEnd = DBusUnixFD(takingOwnershipOf: ends[0])
        let writeEnd = DBusUnixFD(takingOwnershipOf: ends[1])

        let back = try #require(try await EchoObject.echo(.unixFD(writeEnd), on: pair))
        guard case .unixFD(let received) = back else {
            Issue.record("expected a unix fd, got \(back)")
            return
        }
        #expect(received.fileDescriptor != writeEnd.fileDescriptor)
        #expect(sameFile(received.fileDescriptor, writeEnd.fileDescriptor))

        let message = Array("through the received descriptor".utf8)
        #expect(write(received.fileDescriptor, message, message.count) == message.count)
        var buffer = [UInt8](repeating: 0, count: message.count)
        #expect(read(readEnd.fileDescriptor, &buffer, buffer.count) == message.count)
        #expect(buffer == message)
    }

    @Test("fds inside a dictionary of variants and inside an array")
    func fdsInContainers() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0)
        let readEnd = DBusUnixFD(takingOwnershipOf: ends[0])
        let writeEnd = DBusUnixFD(takingOwnershipOf: ends[1])
        let value = DBusValue.vardict([
            "reader": .unixFD(readEnd),
            "both": .array(element: .unixFD, [.unixFD(readEnd), .unixFD(writeEnd)]),
            "name": .string("pipe"),
        ])
        let back = try #require(try await EchoObject.echo(value, on: pair))
        #expect(isEquivalent(value, back), "got \(back)")
    }

    @Test("nested variants: v holding v holding a{sv} holding v")
    func nestedVariants() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let value = DBusValue.variant(.variant(.vardict([
            "inner": .variant(.int32(-5)),
            "deeper": .variant(.variant(.vardict(["x": .double(0.5)]))),
            "list": .strings(["a", "b"]),
        ])))
        let back = try #require(try await EchoObject.echo(value, on: pair))
        #expect(isEquivalent(value, back), "got \(back)")
    }

    @Test("a variant nested 30 levels deep")
    func deepVariant() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        var value = DBusValue.string("core")
        for _ in 0..<30 { value = .variant(value) }
        let back = try #require(try await EchoObject.echo(value, on: pair))
        #expect(isEquivalent(value, back))
    }

    @Test("empty arrays keep their element type")
    func emptyArrays() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let values: [DBusValue] = [
            .bytes([]),
            .array(element: .string, []),
            .array(element: .int64, []),
            .array(element: .variant, []),
            .array(element: .unixFD, []),
            .array(element: "(ios)", []),
            .array(element: "aav", []),
            .dictionary(key: .string, value: .variant, []),
            .dictionary(key: .objectPath, value: "a{sa{sv}}", []),
        ]
        for value in values {
            let back = try #require(try await EchoObject.echo(value, on: pair))
            #expect(isEquivalent(value, back), "sent \(value), got \(back)")
            #expect(back.signature == value.signature)
        }
    }

    @Test("an array of bytes sent element by element comes back compact and equal")
    func bytesAsArray() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let value = DBusValue.array(element: .byte, [.byte(1), .byte(0), .byte(255)])
        let back = try #require(try await EchoObject.echo(value, on: pair))
        #expect(back == .bytes([1, 0, 255]))
    }

    @Test("1 MiB of bytes")
    func largeBytes() async throws {
        let pair = try await BusPair.start()
        pair.server.objects.maximumArgumentBytes = 2 << 20  // above the default limit, on purpose
        try await EchoObject.export(on: pair)
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let back = try #require(try await EchoObject.echo(.bytes(bytes), on: pair))
        #expect(back.bytesValue == bytes)
    }

    @Test("10,000 strings")
    func largeStringArray() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let strings = (0..<10_000).map { "item \($0) ✓" }
        let back = try #require(try await EchoObject.echo(.strings(strings), on: pair))
        #expect(back.stringArrayValue == strings)
    }

    @Test("a{sv} with mixed values")
    func mixedVardict() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let value = DBusValue.vardict([
            "name": .string("Zoë"), "age": .uint32(7), "pi": .double(3.25), "ok": .boolean(true),
            "path": .objectPath("/a/b"), "sig": .signature("a{sv}"), "blob": .bytes([0, 1, 2]),
            "list": .array(element: .int16, [.int16(-1), .int16(2)]),
            "point": .structure([.int32(1), .int32(2)]),
            "nested": .vardict(["deep": .int64(.min)]),
        ])
        let back = try #require(try await EchoObject.echo(value, on: pair))
        #expect(isEquivalent(value, back), "got \(back)")
        #expect(back.vardictValue?["age"] == .uint32(7))
    }

    @Test("a{oa{sa{sv}}}, the shape of GetManagedObjects")
    func managedObjectsShape() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        func interfaces(_ n: Int) -> DBusValue {
            .dictionary(key: .string, value: "a{sv}", [
                DBusDictionaryEntry(.string("org.example.A"), .vardict(["n": .int32(Int32(n))])),
                DBusDictionaryEntry(.string("org.example.Empty"), .vardict([:])),
            ])
        }
        let value = DBusValue.dictionary(key: .objectPath, value: "a{sa{sv}}", [
            DBusDictionaryEntry(.objectPath("/o/1"), interfaces(1)),
            DBusDictionaryEntry(.objectPath("/o/2"), interfaces(2)),
        ])
        let back = try #require(try await EchoObject.echo(value, on: pair))
        #expect(isEquivalent(value, back), "got \(back)")
    }

    @Test("structs holding arrays, arrays of structs, dictionaries with integer keys")
    func structsAndArrays() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let values: [DBusValue] = [
            .structure([
                .string("s"), .array(element: "ai", [.array(element: .int32, [.int32(1), .int32(2)])]),
                .structure([.bytes([9]), .variant(.boolean(false))]),
            ]),
            .array(element: "(sx)", (0..<50).map { .structure([.string("n\($0)"), .int64(Int64($0) - 25)]) }),
            .dictionary(key: .uint64, value: "(bd)", [
                DBusDictionaryEntry(.uint64(.max), .structure([.boolean(true), .double(-1)])),
                DBusDictionaryEntry(.uint64(0), .structure([.boolean(false), .double(2)])),
            ]),
        ]
        for value in values {
            let back = try #require(try await EchoObject.echo(value, on: pair))
            #expect(isEquivalent(value, back), "sent \(value), got \(back)")
        }
    }

    @Test("a declared a{sv} argument comes back as a{sv}, not wrapped")
    func declaredSignature() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let value = DBusValue.vardict(["a": .string("b"), "n": .variant(.uint16(3))])
        let message = try DBusMessage.methodCall(
            destination: pair.server.uniqueName, path: EchoObject.path,
            interface: EchoObject.interfaceName, member: "EchoDict")
        try message.append(value)
        let reply = try await pair.client.call(message, timeout: .seconds(10))
        #expect(reply.kind == .methodReturn)
        #expect(reply.signature == "a{sv}")
        let arguments = reply.arguments()
        #expect(arguments.count == 1)
        #expect(arguments.first.map { isEquivalent(value, $0) } == true)
    }

    @Test("several declared arguments in and out")
    func severalArguments() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let numbers = DBusValue.array(element: .int32, [.int32(3), .int32(-3)])
        let pairs = DBusValue.array(element: "(sx)", [.structure([.string("k"), .int64(1)])])
        let reply = try await pair.call(
            EchoObject.path, EchoObject.interfaceName, "EchoMany", [numbers, .string("t"), pairs])
        #expect(reply == [pairs, .string("t"), numbers])
    }
}
