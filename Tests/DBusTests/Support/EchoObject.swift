import DBus
import Synchronization

/// The object most tests export: methods that echo, fail in chosen ways, or wait.
enum EchoObject {
    static let path: DBusObjectPath = "/org/example/Echo"
    static let interfaceName = "org.example.Echo"

    /// A Swift error no D-Bus code knows; its name must not leak onto the bus.
    struct SecretInternalFailure: Error {
        var detail = "SecretInternalFailure: the disk at /secret is full"
    }

    /// A domain error that says which D-Bus error it is.
    struct QuotaExceeded: DBusErrorConvertible {
        var dbusError: DBusError {
            DBusError(name: "org.example.Error.QuotaExceeded", message: "You may store 3 items; remove one first.")
        }
    }

    /// `held` gates `Hold`; `arrivals` hears of every `Hold` call as it starts.
    static func interface(held: Gate = Gate(), arrivals: Reports<String> = Reports()) -> DBusInterface {
        DBusInterface(
            name: interfaceName,
            methods: [
                DBusMethod("Echo", in: [DBusArgument("value", .variant)], out: [DBusArgument("value", .variant)]) {
                    $0.arguments
                },
                DBusMethod(
                    "EchoDict", in: [DBusArgument("values", "a{sv}")], out: [DBusArgument("values", "a{sv}")]
                ) { $0.arguments },
                DBusMethod(
                    "EchoMany",
                    in: [DBusArgument("numbers", "ai"), DBusArgument("text", .string), DBusArgument("pairs", "a(sx)")],
                    out: [DBusArgument("pairs", "a(sx)"), DBusArgument("text", .string), DBusArgument("numbers", "ai")]
                ) { $0.arguments.reversed() },
                DBusMethod("Fail", in: [DBusArgument("name", .string), DBusArgument("message", .string)]) { call in
                    throw DBusError(name: call.arguments[0].stringValue!, message: call.arguments[1].stringValue!)
                },
                DBusMethod("FailSwift") { _ in throw SecretInternalFailure() },
                DBusMethod("FailQuota") { _ in throw QuotaExceeded() },
                DBusMethod("WrongReply", out: [DBusArgument("text", .string)]) { _ in [.int32(1)] },
                DBusMethod("Hold", in: [DBusArgument("tag", .string)], out: [DBusArgument("tag", .string)]) { call in
                    arrivals.send(call.arguments[0].stringValue!)
                    await held.wait()
                    return call.arguments
                },
                DBusMethod(
                    "ReplyLater", in: [DBusArgument("number", .uint32)], out: [DBusArgument("number", .uint32)]
                ) { call in
                    // The reply is built and sent from a task that is not the dispatching one.
                    let number = call.arguments[0].uint32Value!
                    return try await Task.detached { () async throws -> [DBusValue] in
                        await Task.yield()
                        return [.uint32(number &+ 1)]
                    }.value
                },
            ],
            signals: [
                DBusSignal("Tick", [DBusArgument("count", .uint32), DBusArgument("label", .string)]),
                DBusSignal("Nothing"),
            ])
    }

    /// Exports the echo object on `pair.server`.
    static func export(on pair: BusPair, held: Gate = Gate(), arrivals: Reports<String> = Reports()) async throws {
        try await pair.server.objects.export([interface(held: held, arrivals: arrivals)], at: path)
    }

    /// Calls `Echo` with `value` and returns what came back inside the variant.
    static func echo(_ value: DBusValue, on pair: BusPair) async throws -> DBusValue? {
        let reply = try await pair.call(path, interfaceName, "Echo", [.variant(value)])
        guard reply.count == 1 else { return nil }
        return reply[0].variantValue
    }
}

