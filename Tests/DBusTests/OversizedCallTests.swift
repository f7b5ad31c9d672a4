import DBus
import Testing
import TestSupport

/// A method call whose arguments pass ``DBusObjectServer/maximumArgumentBytes`` (256 KiB by default) is refused
/// with `LimitsExceeded` before it is decoded or reaches a handler, and others keep being
/// served meanwhile.
@Suite("Oversized calls", .timeLimit(.minutes(2)))
struct OversizedCallTests {
    static let limit = DBusObjectServer.defaultMaximumArgumentBytes

    @Test("a string over the limit is refused with LimitsExceeded; one under it is served")
    func bigString() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let error = try await #require(throws: DBusError.self) {
            _ = try await EchoObject.echo(.string(String(repeating: "x", count: Self.limit + 1)), on: pair)
        }
        #expect(error.name == DBusError.StandardName.limitsExceeded)
        #expect(error.message.contains("Echo") && error.message.contains("\(Self.limit / 1024) KiB"), "\(error.message)")
        let fits = String(repeating: "y", count: Self.limit - 1024)
        #expect(try await EchoObject.echo(.string(fits), on: pair) == .string(fits))
    }

    @Test("many small values nested in arrays and structs count together")
    func manySmallValues() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let pairs = DBusValue.array(
            element: "(sx)", (0..<40_000).map { .structure([.string("eightchr"), .int64(Int64($0))]) })
        let error = try await #require(throws: DBusError.self) {
            _ = try await pair.call(EchoObject.path, EchoObject.interfaceName, "EchoMany", [.array(element: "i", []), .string(""), pairs])
        }
        #expect(error.name == DBusError.StandardName.limitsExceeded)
        let bytes = DBusValue.bytes([UInt8](repeating: 7, count: Self.limit + 1))
        let tooManyBytes = try await #require(throws: DBusError.self) { _ = try await EchoObject.echo(bytes, on: pair) }
        #expect(tooManyBytes.name == DBusError.StandardName.limitsExceeded)
    }

    @Test("while a 64 MiB call is refused, another caller keeps being answered")
    func othersKeepBeingServed() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let other = try await pair.bus.connect()
        defer { other.close() }
        let server = pair.server.uniqueName
        let bigDone = Store(false)
        let big = Task {
            defer { bigDone.set(true) }
            return try await pair.client.call(
                destination: server, path: EchoObject.path, interface: EchoObject.interfaceName, member: "Echo",
                arguments: [.variant(.string(String(repeating: "z", count: 64 << 20)))], timeout: .seconds(60))
        }
        // Echo calls from another client until the big one is answered (bounded), each of
        // them answered in turn.
        var answered: UInt32 = 0
        while !bigDone.get() && answered < 100_000 {
            let reply = try await other.call(
                destination: server, path: EchoObject.path, interface: EchoObject.interfaceName, member: "Echo",
                arguments: [.variant(.uint32(answered))], timeout: .seconds(20))
            #expect(reply == [.variant(.uint32(answered))])
            answered += 1
        }
        let outcome = await big.result
        guard case .failure(let error as DBusError) = outcome else {
            Issue.record("the 64 MiB call was not refused: \(outcome)")
            return
        }
        #expect(error.name == DBusError.StandardName.limitsExceeded)
        // The server still serves after it, on the same connection.
        #expect(pair.server.isConnected)
        #expect(try await EchoObject.echo(.string("after"), on: pair) == .string("after"))
    }
}
