import DBus
import Foundation
import Synchronization
import Testing
import TestSupport

/// The connection as a whole: concurrency, names, disconnection.
@Suite("Connections", .timeLimit(.minutes(1)))
struct ConnectionTests {
    @Test("200 concurrent calls from many tasks all get their own replies")
    func concurrentCalls() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        try await withThrowingTaskGroup(of: (Int, DBusValue?).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let value = DBusValue.structure([.int32(Int32(index)), .string(String(repeating: "x", count: index))])
                    return (index, try await EchoObject.echo(value, on: pair))
                }
            }
            var seen = Set<Int>()
            for try await (index, reply) in group {
                #expect(reply == .structure([.int32(Int32(index)), .string(String(repeating: "x", count: index))]))
                seen.insert(index)
            }
            #expect(seen.count == 200)
        }
    }

    @Test("calls in flight at once are each answered while others are held")
    func concurrentHeldCalls() async throws {
        let pair = try await BusPair.start()
        let held = Gate()
        let arrivals = Reports<String>()
        try await EchoObject.export(on: pair, held: held, arrivals: arrivals)
        defer { held.open() }
        try await withThrowingTaskGroup(of: [DBusValue].self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await pair.call(EchoObject.path, EchoObject.interfaceName, "Hold", [.string("h\(index)")])
                }
            }
            // All 20 handlers run at the same time: none of them can finish before the gate opens.
            var arrived = Set<String>()
            for _ in 0..<20 { arrived.insert(try await arrivals.next("a held call")) }
            #expect(arrived.count == 20)
            #expect(try await EchoObject.echo(.string("meanwhile"), on: pair) == .string("meanwhile"))
            held.open()
            var replies = Set<String>()
            for try await reply in group { replies.insert(reply.first?.stringValue ?? "?") }
            #expect(replies == arrived)
        }
    }

    @Test("a reply produced on a detached task goes out at once")
    func replyFromDetachedTask() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        for number: UInt32 in [0, 41, .max] {
            let reply = try await pair.call(
                EchoObject.path, EchoObject.interfaceName, "ReplyLater", [.uint32(number)], timeout: .seconds(5))
            #expect(reply == [.uint32(number &+ 1)])
        }
    }

    @Test("calls and replies sent while both loop threads are busy reading still go out at once")
    func sendWhileReading() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let flooder = try await pair.bus.connect()
        defer { flooder.close() }
        // Both sides subscribe, so the bus keeps both loop threads reading this flood while the
        // calls and their replies are sent from other threads.
        let rule = DBusMatchRule(interface: "org.example.Flood")
        let atClient = try await pair.client.subscribe(to: rule)
        let atServer = try await pair.server.subscribe(to: rule)
        let flooding = Task.detached {
            for round in 0..<10_000 where !Task.isCancelled {
                for _ in 0..<20 {
                    try? flooder.emitSignal(path: "/f", interface: "org.example.Flood", member: "Drop", arguments: [.int32(Int32(round))])
                }
                await Task.yield()
            }
        }
        defer { flooding.cancel() }
        _ = try await atClient.next("the flood to reach the client")
        _ = try await atServer.next("the flood to reach the server")
        for index in 0..<150 {
            let reply = try await pair.call(
                EchoObject.path, EchoObject.interfaceName, "Echo", [.variant(.int32(Int32(index)))], timeout: .seconds(5))
            #expect(reply == [.variant(.int32(Int32(index)))])
        }
    }

    @Test("signals emitted from a thread that is not a Swift task go out at once")
    func signalFromPlainThread() async throws {
        let pair = try await BusPair.start()
        let signals = try await pair.client.subscribe(to: DBusMatchRule(interface: "org.example.Thread"))
        let server = pair.server
        let thread = Thread {
            try? server.emitSignal(path: "/t", interface: "org.example.Thread", member: "FromThread", arguments: [.int32(1)])
        }
        thread.start()
        #expect(try await signals.next("the signal from a plain thread").arguments() == [.int32(1)])
    }

    @Test("requestName: owner, already owner, NameTaken for a second connection, nameOwner, releaseName")
    func names() async throws {
        let pair = try await BusPair.start()
        let name = "org.example.Owned"
        #expect(try await pair.server.requestName(name) == .primaryOwner)
        #expect(try await pair.server.requestName(name) == .alreadyOwner)
        let error = await #expect(throws: DBusError.self) { try await pair.client.requestName(name) }
        #expect(error?.name == "org.freedesktop.DBus.Error.NameTaken")
        #expect(try await pair.client.nameOwner(name) == pair.server.uniqueName)

        // A call to the well-known name reaches the owner.
        try await EchoObject.export(on: pair)
        let reply = try await pair.client.call(
            destination: name, path: EchoObject.path, interface: EchoObject.interfaceName, member: "Echo",
            arguments: [.variant(.byte(7))])
        #expect(reply == [.variant(.byte(7))])

        try await pair.server.releaseName(name)
        #expect(try await pair.client.nameOwner(name) == nil)
        #expect(try await pair.client.requestName(name) == .primaryOwner)
        #expect(try await pair.server.nameOwner(name) == pair.client.uniqueName)
    }

    @Test("invalid names are refused before asking the bus", arguments: [":1.5", "nodots", "", "a..b", "org.example.1x", "org.example.a b"])
    func invalidName(_ name: String) async throws {
        let pair = try await BusPair.start()
        let error = await #expect(throws: DBusError.self) { try await pair.server.requestName(name) }
        #expect(error?.name == DBusError.StandardName.invalidArgs)
    }

    @Test("killing the bus ends waitUntilDisconnected; later calls throw Disconnected")
    func busDies() async throws {
        let pair = try await BusPair.start()
        let held = Gate()
        let arrivals = Reports<String>()
        try await EchoObject.export(on: pair, held: held, arrivals: arrivals)
        defer { held.open() }
        let subscription = try await pair.client.subscribe(to: DBusMatchRule(interface: "org.example.Never"))
        let inFlight = Task {
            try await pair.call(EchoObject.path, EchoObject.interfaceName, "Hold", [.string("orphan")], timeout: .seconds(60))
        }
        _ = try await arrivals.next("the held call")
        #expect(pair.client.isConnected)

        pair.bus.stop()

        let client = pair.client
        try await withDeadline(.seconds(10), "the client to notice the bus is gone") { await client.waitUntilDisconnected() }
        try await withDeadline(.seconds(10), "the server to notice the bus is gone") { await pair.server.waitUntilDisconnected() }
        #expect(!pair.client.isConnected)

        // The call that was waiting ends with an error instead of waiting for its timeout.
        let result = try await result(of: inFlight, "the in-flight call to fail")
        let error = #expect(throws: DBusError.self) { try result.get() }
        #expect(error?.name == DBusError.StandardName.disconnected)

        // Subscriptions end rather than wait forever.
        let ended = try await withDeadline(.seconds(10), "the subscription to end") {
            for await _ in subscription {}
            return true
        }
        #expect(ended)

        let later = await #expect(throws: DBusError.self) { _ = try await EchoObject.echo(.int32(1), on: pair) }
        #expect(later?.name == DBusError.StandardName.disconnected)
        #expect(throws: DBusError.self) {
            try pair.server.emitSignal(path: "/a", interface: "org.example.I", member: "M")
        }
        // Waiting again returns at once.
        try await withDeadline(.seconds(10), "a second wait") { await client.waitUntilDisconnected() }
    }

    @Test("close is idempotent, ends waiters and makes later calls throw Disconnected")
    func close() async throws {
        let pair = try await BusPair.start()
        let client = pair.client
        let waiter = Task { await client.waitUntilDisconnected() }
        client.close()
        client.close()
        #expect(!client.isConnected)
        try await withDeadline(.seconds(10), "the waiter to return after close") { await waiter.value }
        let error = await #expect(throws: DBusError.self) { _ = try await client.nameOwner("org.freedesktop.DBus") }
        #expect(error?.name == DBusError.StandardName.disconnected)
        #expect(throws: DBusError.self) { try client.emitSignal(path: "/a", interface: "org.example.I", member: "M") }
        // The other connection on the bus is unaffected.
        #expect(try await pair.server.nameOwner("org.freedesktop.DBus") == "org.freedesktop.DBus")
    }

    @Test("a handler that closes its own connection (on the connection's thread) does not pull it from under the dispatch")
    func closeFromAHandler() async throws {
        let bus = try await PrivateBus.start()
        let client = try await bus.connect()
        for round in 0..<20 {
            let server = try await bus.connect()
            // Handlers start on the connection's own thread (Task.immediate): close() runs there.
            try await server.objects.export([
                DBusInterface(name: "org.example.Closer", methods: [
                    DBusMethod("CloseNow") { [weak server] _ in
                        server?.close()
                        return []
                    },
                ]),
            ], at: "/closer")
            // Messages queued behind the call are dispatched after the close.
            for _ in 0..<5 {
                let message = try DBusMessage.methodCall(
                    destination: server.uniqueName, path: "/closer", interface: "org.example.Closer", member: "CloseNow")
                try client.send(message)
            }
            await #expect(throws: DBusError.self, "round \(round)") {
                _ = try await client.call(
                    destination: server.uniqueName, path: "/closer", interface: "org.example.Closer", member: "CloseNow",
                    timeout: .seconds(5))
            }
            try await withDeadline(.seconds(10), "the server to be closed") { await server.waitUntilDisconnected() }
        }
        #expect(try await client.nameOwner("org.freedesktop.DBus") == "org.freedesktop.DBus")
    }

    @Test("a cancelled waitUntilDisconnected returns while the connection stays up")
    func cancelledWait() async throws {
        let pair = try await BusPair.start()
        let client = pair.client
        let waiter = Task { await client.waitUntilDisconnected() }
        waiter.cancel()
        try await withDeadline(.seconds(10), "the cancelled waiter") { await waiter.value }
        #expect(client.isConnected)
    }

    @Test("connecting to an address where no bus listens throws a DBusError naming the address")
    func noBus() throws {
        let address = "unix:path=/nonexistent/dbustests-\(UInt64.random(in: 0 ... .max))"
        let error = try #require(throws: DBusError.self) { _ = try DBusConnection(bus: .address(address)) }
        #expect(error.message.contains(address))
    }

    @Test("dropping the last reference to a connection closes it and leaves the bus")
    func deinitCloses() async throws {
        let pair = try await BusPair.start()
        var temporary: DBusConnection? = try await pair.bus.connect()
        let name = try #require(temporary?.uniqueName)
        let gone = try await pair.client.subscribe(to: DBusMatchRule(
            sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged"))
        temporary = nil
        let change = try await gone.next("the dropped connection to leave the bus") { $0.arguments().first == .string(name) }
        #expect(change.arguments() == [.string(name), .string(name), .string("")])
        #expect(temporary == nil)
    }
}
