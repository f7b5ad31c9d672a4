import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// Presence over the internet scope goes only to contacts I allow who subscribed.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct PresenceSubscriptionTests {
    static let contact = PeerCollabBus.Interface.contact

    private func addContact(_ owner: LabDaemon, cardOf other: LabDaemon) async throws -> DBusObjectPath {
        let card = try #require(try await other.managerCall("GetContactCard").first?.stringValue)
        return try #require(try await owner.managerCall("AddContact", [.string(card)]).first?.objectPathValue)
    }

    private func set(_ daemon: LabDaemon, _ path: DBusObjectPath, _ name: String, _ value: Bool) async throws {
        try await daemon.call(path, "org.freedesktop.DBus.Properties", "Set", [.string(Self.contact), .string(name), .variant(.boolean(value))])
    }

    private func status(_ daemon: LabDaemon, _ path: DBusObjectPath) async throws -> String {
        try await daemon.property(path, Self.contact, "PresenceStatus").stringValue ?? ""
    }

    @Test func presenceReachesAllowedSubscribersOnlyAndUnsubscribingStopsIt() async throws {
        let lab = try NetworkLab(hosts: 3)
        let daemons = try await LabDaemon.start(in: lab, signIn: "internet")
        let (a, b, c) = (daemons[0], daemons[1], daemons[2])
        let bOnA = try await addContact(a, cardOf: b)
        let cOnA = try await addContact(a, cardOf: c)
        let aOnB = try await addContact(b, cardOf: a)
        let aOnC = try await addContact(c, cardOf: a)
        try await set(a, bOnA, "SubscribeAllowed", true)
        try await set(a, cOnA, "SubscribeAllowed", false)
        try await set(b, aOnB, "Subscribed", true)
        try await set(c, aOnC, "Subscribed", true)
        for (daemon, path) in [(b, aOnB), (c, aOnC)] {
            try await eventually("\(path) comes online") {
                try await daemon.property(path, Self.contact, "Online").boolValue == true ? true : nil
            }
        }

        try await a.managerCall("SetPresence", [.string("busy"), .string("allowed only")])
        try await eventually("B, allowed and subscribed, sees busy") { try await status(b, aOnB) == "busy" ? true : nil }
        // C subscribed but is not allowed: it sees A offline, whatever A sets. A display name
        // change goes to everyone, on the same channel after the presence: once C has it,
        // the presence would have arrived too.
        try await a.call(DaemonProcess.root, "org.freedesktop.DBus.Properties", "Set", [
            .string(DaemonProcess.manager), .string("DisplayName"), .variant(.string("A renamed")),
        ])
        try await eventually("C sees the new name") {
            try await c.property(aOnC, Self.contact, "DisplayName").stringValue == "A renamed" ? true : nil
        }
        #expect(try await status(c, aOnC) == "offline")
        try await a.managerCall("SetObject", [.string("board"), .bytes([1, 2, 3])])
        do {
            try await c.call(aOnC, Self.contact, "GetObject", [.string("board")])
            Issue.record("C, not allowed, got A's object")
        } catch let error as DBusError {
            #expect(error.name == PeerCollabErrorName.notAllowed.busName, "\(error)")
        }
        #expect(try await b.call(aOnB, Self.contact, "GetObject", [.string("board")]).first?.bytesValue == [1, 2, 3])

        // B unsubscribes: A shows B offline from now on.
        try await set(b, aOnB, "Subscribed", false)
        try await eventually("B's view of A goes offline") { try await status(b, aOnB) == "offline" ? true : nil }
        try await a.managerCall("SetPresence", [.string("on-the-phone"), .string("")])
        try await a.call(DaemonProcess.root, "org.freedesktop.DBus.Properties", "Set", [
            .string(DaemonProcess.manager), .string("DisplayName"), .variant(.string("A again")),
        ])
        try await eventually("B sees the second name") {
            try await b.property(aOnB, Self.contact, "DisplayName").stringValue == "A again" ? true : nil
        }
        #expect(try await status(b, aOnB) == "offline")
    }
}
