import DBus
import Testing

/// Signals out (declared and raw) and signals in through match rules.
@Suite("Signals and match rules", .timeLimit(.minutes(1)))
struct SignalTests {
    @Test("a declared signal emitted with objects.emit reaches a subscriber")
    func declaredSignal() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let ticks = try await pair.client.subscribe(to: DBusMatchRule(
            sender: pair.server.uniqueName, path: EchoObject.path, interface: EchoObject.interfaceName, member: "Tick"))
        try pair.server.objects.emit(
            path: EchoObject.path, interface: EchoObject.interfaceName, signal: "Tick",
            arguments: [.uint32(7), .string("seven")])
        let tick = try await ticks.next("Tick")
        #expect(tick.arguments() == [.uint32(7), .string("seven")])
        #expect(tick.signature == "us")
        #expect(tick.sender == pair.server.uniqueName)
        #expect(tick.interface == EchoObject.interfaceName)
        #expect(tick.path == EchoObject.path.rawValue)
    }

    @Test("emit refuses arguments that do not match the declaration, and undeclared signals")
    func wrongArguments() async throws {
        let pair = try await BusPair.start()
        try await EchoObject.export(on: pair)
        let wrongTypes = try #require(throws: DBusError.self) {
            try pair.server.objects.emit(
                path: EchoObject.path, interface: EchoObject.interfaceName, signal: "Tick",
                arguments: [.string("seven"), .uint32(7)])
        }
        #expect(wrongTypes.name == DBusError.StandardName.invalidArgs)
        #expect(throws: DBusError.self) {
            try pair.server.objects.emit(
                path: EchoObject.path, interface: EchoObject.interfaceName, signal: "Tick", arguments: [.uint32(7)])
        }
        #expect(throws: DBusError.self) {
            try pair.server.objects.emit(
                path: EchoObject.path, interface: EchoObject.interfaceName, signal: "Undeclared", arguments: [])
        }
        #expect(throws: DBusError.self) {
            try pair.server.objects.emit(path: "/not/exported", interface: EchoObject.interfaceName, signal: "Tick",
                arguments: [.uint32(7), .string("seven")])
        }
    }

    @Test("match rules: path_namespace, member and sender filter what a subscription sees")
    func matchRules() async throws {
        let pair = try await BusPair.start()
        let third = try await pair.bus.connect()
        defer { third.close() }
        let interface = "org.example.Signals"

        let namespaced = try await pair.client.subscribe(to: DBusMatchRule(
            pathNamespace: "/org/example", interface: interface))
        let fromServer = try await pair.client.subscribe(to: DBusMatchRule(
            sender: pair.server.uniqueName, interface: interface, member: "Hello"))

        // None of these fit the namespaced rule; each would arrive before the one that does.
        try pair.server.emitSignal(path: "/org/examples", interface: interface, member: "Hello", arguments: [.int32(1)])
        try pair.server.emitSignal(path: "/other", interface: interface, member: "Hello", arguments: [.int32(2)])
        try pair.server.emitSignal(path: "/org/example/deep/down", interface: "org.example.Other", member: "Hello", arguments: [.int32(3)])
        try pair.server.emitSignal(path: "/org/example/deep/down", interface: interface, member: "Hello", arguments: [.int32(4)])
        try pair.server.emitSignal(path: "/org/example", interface: interface, member: "Bye", arguments: [.int32(5)])

        #expect(try await namespaced.next("the namespaced signal").arguments() == [.int32(4)])
        #expect(try await namespaced.next("the signal at the namespace itself").arguments() == [.int32(5)])

        // Hello 3 has another interface. The third connection's Hello reaches this connection
        // (the namespaced rule asks for it) but must not reach the sender-filtered subscription.
        #expect(try await fromServer.next("the first Hello").arguments() == [.int32(1)])
        try third.emitSignal(path: "/org/example", interface: interface, member: "Hello", arguments: [.int32(6)])
        // The third connection's signal has reached the bus before this call returns
        // (messages from one connection are handled in order), so it would be queued ahead.
        _ = try await third.nameOwner("org.freedesktop.DBus")
        try pair.server.emitSignal(path: "/org/example", interface: interface, member: "Hello", arguments: [.int32(7)])
        var seen: [DBusValue] = []
        for _ in 0..<4 {
            let next = try await fromServer.next("the server's Hello")
            seen += next.arguments()
            if next.arguments() == [.int32(7)] { break }
        }
        #expect(seen == [.int32(2), .int32(4), .int32(7)])
    }

    @Test("a signal with a destination reaches only that connection")
    func unicastSignal() async throws {
        let pair = try await BusPair.start()
        let third = try await pair.bus.connect()
        defer { third.close() }
        let rule = DBusMatchRule(interface: "org.example.Direct")
        let atClient = try await pair.client.subscribe(to: rule)
        let atThird = try await third.subscribe(to: rule)
        try pair.server.emitSignal(
            path: "/d", interface: "org.example.Direct", member: "Note", arguments: [.string("for the client")],
            destination: pair.client.uniqueName)
        try pair.server.emitSignal(
            path: "/d", interface: "org.example.Direct", member: "Note", arguments: [.string("for everyone")])
        #expect(try await atClient.next("the unicast signal").arguments() == [.string("for the client")])
        #expect(try await atClient.next("the broadcast").arguments() == [.string("for everyone")])
        #expect(try await atThird.next("the broadcast at the third").arguments() == [.string("for everyone")])
    }

    @Test("two subscriptions with the same rule both receive; a malformed rule is refused by the bus")
    func duplicateAndInvalidRules() async throws {
        let pair = try await BusPair.start()
        let rule = DBusMatchRule(interface: "org.example.Twice")
        let one = try await pair.client.subscribe(to: rule)
        let two = try await pair.client.subscribe(to: rule)
        try pair.server.emitSignal(path: "/t", interface: "org.example.Twice", member: "Ping")
        #expect(try await one.next("at the first").member == "Ping")
        #expect(try await two.next("at the second").member == "Ping")

        let error = await #expect(throws: DBusError.self) {
            _ = try await pair.client.subscribe(to: DBusMatchRule(member: "Quote'd"))
        }
        #expect(error?.name.hasPrefix("org.freedesktop.DBus.Error.") == true)
    }

    @Test("a subscription to bus signals sees NameOwnerChanged when a name is taken")
    func busSignals() async throws {
        let pair = try await BusPair.start()
        let changes = try await pair.client.subscribe(to: DBusMatchRule(
            sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged"))
        try await pair.server.requestName("org.example.Watched")
        let change = try await changes.next("NameOwnerChanged") { $0.arguments().first == .string("org.example.Watched") }
        #expect(change.arguments() == [.string("org.example.Watched"), .string(""), .string(pair.server.uniqueName)])
    }
}
