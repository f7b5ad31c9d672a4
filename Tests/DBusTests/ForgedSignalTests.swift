import DBus
import Testing

/// A subscription naming a well-known sender accepts signals only from the unique name that
/// owns it, following it as it changes hands; one naming the bus accepts only the bus. Any
/// other client may send us a signal directly (unicast), whatever our match rules say.
@Suite("Forged signals", .timeLimit(.minutes(1)))
struct ForgedSignalTests {
    static let interface = "org.example.Forged"
    static let owned = "org.example.Owner"

    /// Sends `member` from `forger` straight to `victim`, then makes a round trip to the
    /// victim: once it returns, the victim's connection has handled the forged signal (the
    /// bus keeps one sender's messages to one receiver in order).
    static func forge(
        from forger: DBusConnection, to victim: DBusConnection, path: DBusObjectPath = "/org/example/Forged",
        interface: String = Self.interface, member: String, _ arguments: [DBusValue]
    ) async throws {
        try forger.emitSignal(path: path, interface: interface, member: member, arguments: arguments, destination: victim.uniqueName)
        try forger.emitSignal(path: path, interface: interface, member: member, arguments: arguments)
        _ = try? await forger.call(
            destination: victim.uniqueName, path: "/", interface: "org.freedesktop.DBus.Peer", member: "Ping")
    }

    @Test("a signal from a well-known name is accepted from its owner only, unicast or broadcast")
    func wellKnownSender() async throws {
        let pair = try await BusPair.start()
        let forger = try await pair.bus.connect()
        defer { forger.close() }
        try await pair.server.requestName(Self.owned)
        let signals = try await pair.client.subscribe(to: DBusMatchRule(sender: Self.owned, interface: Self.interface))

        try await Self.forge(from: forger, to: pair.client, member: "Hello", [.string("forged")])
        try pair.server.emitSignal(path: "/org/example/Forged", interface: Self.interface, member: "Hello", arguments: [.string("real")])
        let first = try await signals.next("the owner's signal")
        #expect(first.arguments() == [.string("real")], "a forged signal got through first")
        #expect(first.sender == pair.server.uniqueName)
    }

    @Test("the owner is followed: a new owner is believed, the old one and a forger are not")
    func ownerChangesHands() async throws {
        let pair = try await BusPair.start()
        let successor = try await pair.bus.connect()
        defer { successor.close() }
        try await pair.server.requestName(Self.owned)
        let signals = try await pair.client.subscribe(to: DBusMatchRule(sender: Self.owned, interface: Self.interface))

        try await pair.server.releaseName(Self.owned)
        try await successor.requestName(Self.owned)
        // The old owner is anyone now.
        try await Self.forge(from: pair.server, to: pair.client, member: "Hello", [.string("from the old owner")])
        try successor.emitSignal(path: "/org/example/Forged", interface: Self.interface, member: "Hello", arguments: [.string("from the new owner")])
        let first = try await signals.next("the new owner's signal")
        #expect(first.arguments() == [.string("from the new owner")])

        // Nobody owns it: nothing is accepted, until someone does again.
        try await successor.releaseName(Self.owned)
        try await Self.forge(from: successor, to: pair.client, member: "Hello", [.string("while unowned")])
        try await pair.server.requestName(Self.owned)
        try pair.server.emitSignal(path: "/org/example/Forged", interface: Self.interface, member: "Hello", arguments: [.string("owned again")])
        let second = try await signals.next("the signal after the name came back")
        #expect(second.arguments() == [.string("owned again")])
    }

    @Test("a name that nobody owns when subscribing is followed once someone takes it")
    func ownerAppearsLater() async throws {
        let pair = try await BusPair.start()
        let signals = try await pair.client.subscribe(to: DBusMatchRule(sender: Self.owned, interface: Self.interface))
        try await Self.forge(from: pair.server, to: pair.client, member: "Hello", [.string("before owning")])
        try await pair.server.requestName(Self.owned)
        try pair.server.emitSignal(path: "/org/example/Forged", interface: Self.interface, member: "Hello", arguments: [.string("owner")])
        let first = try await signals.next("the owner's signal")
        #expect(first.arguments() == [.string("owner")])
    }

    @Test("NameOwnerChanged, NameLost and NameAcquired are believed from the bus only")
    func busSignals() async throws {
        let pair = try await BusPair.start()
        let changes = try await pair.client.subscribe(to: DBusMatchRule(
            sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged"))
        let lost = try await pair.client.subscribe(to: DBusMatchRule(
            sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameLost"))
        let bus: DBusObjectPath = "/org/freedesktop/DBus"
        try await Self.forge(
            from: pair.server, to: pair.client, path: bus, interface: "org.freedesktop.DBus", member: "NameOwnerChanged",
            [.string(Self.owned), .string(""), .string(pair.server.uniqueName)])
        try await Self.forge(
            from: pair.server, to: pair.client, path: bus, interface: "org.freedesktop.DBus", member: "NameLost",
            [.string(Self.owned)])

        // Real ones: the bus reports its own messages with the sender org.freedesktop.DBus.
        try await pair.client.requestName(Self.owned)
        try await pair.client.releaseName(Self.owned)
        let change = try await changes.next("the bus's NameOwnerChanged")
        #expect(change.sender == "org.freedesktop.DBus")
        #expect(change.arguments() == [.string(Self.owned), .string(""), .string(pair.client.uniqueName)])
        let loss = try await lost.next("the bus's NameLost")
        #expect(loss.sender == "org.freedesktop.DBus")
        #expect(loss.arguments() == [.string(Self.owned)])
    }

    @Test("matches: a well-known sender other than the bus needs the owner's unique name")
    func matchesNeedsTheOwner() throws {
        let rule = DBusMatchRule(sender: Self.owned, interface: Self.interface)
        let message = try DBusMessage.signal(path: "/org/example/Forged", interface: Self.interface, member: "Hello")
        #expect(!rule.matches(message))
        #expect(!rule.matches(message, senderOwner: ":1.7"), "the message carries no sender, so not :1.7")
        #expect(DBusMatchRule(interface: Self.interface).matches(message))
    }
}
