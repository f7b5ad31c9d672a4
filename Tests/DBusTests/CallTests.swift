import DBus
import Testing

/// Calls out: timeouts, cancellation, and the errors handlers throw as the caller sees them.
@Suite("Method calls and their errors", .timeLimit(.minutes(1)))
struct CallTests {
    @Test("a handler slower than the call's timeout gives NoReply; the server keeps serving")
    func timeout() async throws {
        let pair = try await BusPair.start()
        let held = Gate()
        let arrivals = Reports<String>()
        try await EchoObject.export(on: pair, held: held, arrivals: arrivals)
        defer { held.open() }

        let error = await #expect(throws: DBusError.self) {
            _ = try await pair.call(
                EchoObject.path, EchoObject.interfaceName, "Hold", [.string("slow")], timeout: .milliseconds(300))
        }
        // libdbus synthesizes this reply itself when the pending call's timer fires.
        #expect(error?.name == DBusError.StandardName.noReply)
        #expect(try await arrivals.next("the slow call to arrive") == "slow")

        // The slow handler is still running; others are answered meanwhile.
        let echoed = try await EchoObject.echo(.string("still here"), on: pair)
        #expect(echoed == .string("still here"))
        // The late reply to the timed-out call is dropped without harm.
        held.open()
        #expect(try await EchoObject.echo(.uint32(2), on: pair) == .uint32(2))
        #expect(pair.client.isConnected)
    }

    @Test("cancelling the calling task ends the call with CancellationError")
    func cancellation() async throws {
        let pair = try await BusPair.start()
        let held = Gate()
        let arrivals = Reports<String>()
        try await EchoObject.export(on: pair, held: held, arrivals: arrivals)
        defer { held.open() }

        let task = Task {
            try await pair.call(EchoObject.path, EchoObject.interfaceName, "Hold", [.string("cancel me")], timeout: .seconds(60))
        }
        #expect(try await arrivals.next("the call to reach the server") == "cancel me")
        task.cancel()
        let result = try await result(of: task, "the cancelled call to return")
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(try await EchoObject.echo(.boolean(true), on: pair) == .boolean(true))
    }

    @Test("a call from an already cancelled task throws CancellationError")
    func cancelledBeforeStart() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await EchoObject.echo(.int32(1), on: pair)
        }
        let result = try await result(of: task, "the call to return")
        #expect(throws: CancellationError.self) { try result.get() }
    }

    @Test("a handler's DBusError reaches the caller with exactly its name and message")
    func customError() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let name = "org.example.Error.NotInvited"
        let text = "You were not invited to this session; ask its owner for an invitation."
        let error = await #expect(throws: DBusError.self) {
            _ = try await pair.call(EchoObject.path, EchoObject.interfaceName, "Fail", [.string(name), .string(text)])
        }
        #expect(error == DBusError(name: name, message: text))
    }

    @Test("a DBusErrorConvertible domain error becomes its D-Bus error")
    func convertibleError() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let error = await #expect(throws: DBusError.self) {
            _ = try await pair.call(EchoObject.path, EchoObject.interfaceName, "FailQuota")
        }
        #expect(error == EchoObject.QuotaExceeded().dbusError)
    }

    @Test("an invalid error name thrown by a handler becomes Failed with its message")
    func invalidErrorName() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let error = await #expect(throws: DBusError.self) {
            _ = try await pair.call(
                EchoObject.path, EchoObject.interfaceName, "Fail", [.string("not an error name"), .string("why")])
        }
        #expect(error?.name == DBusError.StandardName.failed)
        #expect(error?.message == "why")
    }

    @Test("a plain Swift error becomes Failed without leaking Swift type names or details")
    func swiftError() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let error = try #require(await #expect(throws: DBusError.self) {
            _ = try await pair.call(EchoObject.path, EchoObject.interfaceName, "FailSwift")
        })
        #expect(error.name == DBusError.StandardName.failed)
        #expect(!error.message.isEmpty)
        for secret in ["SecretInternalFailure", "EchoObject", "DBusTests", "/secret", "Error("] {
            #expect(!error.message.contains(secret), "message \(error.message) leaks \(secret)")
        }
    }

    @Test("a handler replying with the wrong types gives Failed, not a malformed reply")
    func wrongReplyType() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let error = await #expect(throws: DBusError.self) {
            _ = try await pair.call(EchoObject.path, EchoObject.interfaceName, "WrongReply")
        }
        #expect(error?.name == DBusError.StandardName.failed)
    }

    @Test("calling a name nobody owns gives ServiceUnknown from the bus")
    func serviceUnknown() async throws {
        let pair = try await BusPair.start()
        let error = await #expect(throws: DBusError.self) {
            _ = try await pair.client.call(
                destination: "org.example.Nobody", path: "/", interface: "org.example.I", member: "M")
        }
        #expect(error?.name == DBusError.StandardName.serviceUnknown)
    }

    @Test("a call to the bus itself returns its reply")
    func busCall() async throws {
        let pair = try await BusPair.start()
        let names = try await pair.client.call(
            destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus", member: "ListNames")
        let list = try #require(names.first?.stringArrayValue)
        #expect(list.contains(pair.server.uniqueName))
        #expect(list.contains(pair.client.uniqueName))
        #expect(pair.server.uniqueName.hasPrefix(":"))
        #expect(pair.server.uniqueName != pair.client.uniqueName)
    }
}
