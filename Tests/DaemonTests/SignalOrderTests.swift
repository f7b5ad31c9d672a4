import DBus
import Foundation
import PeerCollabAPI
import Testing
import TestSupport

/// What clients see, in order: every change is signalled before the reply to the call that
/// made it, objects are complete when they appear, and nothing is signalled that did not
/// change. Serials prove the order: the daemon numbers its messages as it sends them.
@Suite struct SignalOrderTests {
    let bus: PrivateBus
    let client: DBusConnection

    init() throws {
        bus = try PrivateBus()
        client = try DBusConnection(bus: .address(bus.address))
    }

    @Test func setPresenceSignalsTheNewPresenceBeforeItReplies() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let recorder = try await BusRecorder.start(client)
        let reply = try await recorder.call(
            PeerCollabBus.rootPath, PeerCollabBus.Interface.manager, "SetPresence", [.string("busy"), .string("in a meeting")])
        let signal = try await recorder.next("PropertiesChanged of the Manager after SetPresence") {
            $0.changedProperties(of: PeerCollabBus.Interface.manager) != nil
        }
        let changed = try #require(signal.changedProperties(of: PeerCollabBus.Interface.manager))
        #expect(changed[ManagerProperty.presenceStatus.rawValue]?.stringValue == "busy")
        #expect(changed[ManagerProperty.presenceMessage.rawValue]?.stringValue == "in a meeting")
        #expect(signal.serial < reply.serial, "PropertiesChanged (serial \(signal.serial)) came after the reply (serial \(reply.serial))")
    }

    @Test func aSetThatChangesNothingSignalsNothing() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let recorder = try await BusRecorder.start(client)
        let manager = PeerCollabBus.Interface.manager
        _ = try await recorder.set(PeerCollabBus.rootPath, manager, "DisplayName", .string("Ada Lovelace"))
        let first = try await recorder.next("PropertiesChanged of the new display name")
        #expect(first.changedProperties(of: manager)?["DisplayName"]?.stringValue == "Ada Lovelace")
        // The same name again, the same presence again, the same policy: three no-ops. The
        // next signal must be the one after them, which does change something.
        _ = try await recorder.set(PeerCollabBus.rootPath, manager, "DisplayName", .string("Ada Lovelace"))
        _ = try await recorder.call(PeerCollabBus.rootPath, manager, "SetPresence", [.string("online"), .string("")])
        let policy = try await client.call(
            destination: PeerCollabBus.serviceName, path: try DBusObjectPath(PeerCollabBus.rootPath),
            interface: "org.freedesktop.DBus.Properties", member: "Get", arguments: [.string(manager), .string("InvitationPolicy")])
        _ = try await recorder.set(PeerCollabBus.rootPath, manager, "InvitationPolicy", try #require(policy.first?.variantValue))
        _ = try await recorder.set(PeerCollabBus.rootPath, manager, "Email", .string("ada@example.org"))
        let next = try await recorder.next("the Email change after the no-ops")
        #expect(next.changedProperties(of: manager)?.keys.sorted() == ["Email"], "a no-op signalled: \(next.arguments())")
    }

    @Test func registeringAnApplicationAnnouncesItWholeBeforeTheReply() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let recorder = try await BusRecorder.start(client)
        let reply = try await recorder.call(
            PeerCollabBus.rootPath, PeerCollabBus.Interface.manager, "RegisterApplication",
            [.string("org.example.Board"), .vardict(["name": .string("Board"), "exec": .strings(["/bin/true"])])])
        let added = try await recorder.next("InterfacesAdded of the application") {
            $0.addedObject(of: PeerCollabBus.Interface.application) != nil
        }
        let object = try #require(added.addedObject(of: PeerCollabBus.Interface.application))
        #expect(object.path == PeerCollabBus.applicationPath("org.example.Board"))
        #expect(reply.arguments().first?.objectPathValue?.rawValue == object.path)
        #expect(object.properties["Name"]?.stringValue == "Board")
        #expect(object.properties["Exec"]?.stringArrayValue == ["/bin/true"])
        #expect(Set(object.properties.keys) == Set(ApplicationProperty.allCases.map(\.rawValue)))
        #expect(added.serial < reply.serial)

        // Registering it again with another name: one PropertiesChanged, before the reply.
        let again = try await recorder.call(
            PeerCollabBus.rootPath, PeerCollabBus.Interface.manager, "RegisterApplication",
            [.string("org.example.Board"), .vardict(["name": .string("Board 2"), "exec": .strings(["/bin/true"])])])
        let changed = try await recorder.next("PropertiesChanged of the replaced registration")
        #expect(changed.changedProperties(of: PeerCollabBus.Interface.application)?["Name"]?.stringValue == "Board 2")
        #expect(changed.serial < again.serial)
    }

    @Test func addContactExportsTheContactBeforeTheReplyNamesIt() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let card = try ContactCards.person("Grace Hopper").card()
        let recorder = try await BusRecorder.start(client)
        let reply = try await recorder.call(PeerCollabBus.rootPath, PeerCollabBus.Interface.manager, "AddContact", [.string(card)])
        let added = try await recorder.next("InterfacesAdded of the contact") { $0.addedObject(of: PeerCollabBus.Interface.contact) != nil }
        let object = try #require(added.addedObject(of: PeerCollabBus.Interface.contact))
        #expect(reply.arguments().first?.objectPathValue?.rawValue == object.path)
        #expect(object.properties["DisplayName"]?.stringValue == "Grace Hopper")
        #expect(object.properties["Verified"]?.boolValue == true)
        #expect(Set(object.properties.keys) == Set(ContactProperty.allCases.map(\.rawValue)))
        #expect(added.serial < reply.serial)
    }
}

/// A peer appears complete: its first InterfacesAdded already has the name, presence and
/// applications it announced, and the address where it listens, whichever side dialled.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct CompletePeerObjectTests {
    @Test func aPeerObjectIsCompleteInItsInterfacesAddedOnBothSides() async throws {
        let lab = try NetworkLab(hosts: 2)
        try await lab.withLogs {
            let a = try await LabDaemon(lab: lab, host: 0, signIn: nil)
            let b = try await LabDaemon(lab: lab, host: 1, signIn: nil)
            for (daemon, name) in [(a, "Ada at host 0"), (b, "Bob at host 1")] {
                _ = try await daemon.client.call(
                    destination: PeerCollabBus.serviceName, path: try DBusObjectPath(PeerCollabBus.rootPath),
                    interface: "org.freedesktop.DBus.Properties", member: "Set",
                    arguments: [.string(PeerCollabBus.Interface.manager), .string("DisplayName"), .variant(.string(name))])
            }
            try await b.managerCall("SetPresence", [.string("busy"), .string("drawing")])
            try await b.managerCall(
                "RegisterApplication", [.string("org.example.Board"), .vardict(["name": .string("Board"), "exec": .strings(["/bin/true"])])])
            let onA = try await BusRecorder.start(a.client)
            let onB = try await BusRecorder.start(b.client)
            try await a.managerCall("SignIn", [.string("near-me")])
            try await b.managerCall("SignIn", [.string("near-me")])
            let bAdded = try await onA.next("A announces B's Peer object") { $0.addedObject(of: PeerCollabBus.Interface.peer) != nil }
            let aAdded = try await onB.next("B announces A's Peer object") { $0.addedObject(of: PeerCollabBus.Interface.peer) != nil }
            let bOnA = try #require(bAdded.addedObject(of: PeerCollabBus.Interface.peer)).properties
            let aOnB = try #require(aAdded.addedObject(of: PeerCollabBus.Interface.peer)).properties
            #expect(Set(bOnA.keys) == Set(PeerProperty.allCases.map(\.rawValue)))
            #expect(bOnA["DisplayName"]?.stringValue == "Bob at host 1")
            #expect(bOnA["PresenceStatus"]?.stringValue == "busy")
            #expect(bOnA["PresenceMessage"]?.stringValue == "drawing")
            #expect(bOnA["Applications"]?.stringArrayValue == ["org.example.Board"])
            #expect(aOnB["DisplayName"]?.stringValue == "Ada at host 0")
            #expect(aOnB["PresenceStatus"]?.stringValue == "online")
            // Where each listens, not the port the other side's dialling socket had.
            let portA = try await a.port
            let portB = try await b.port
            func endpoints(_ value: DBusValue?) -> [String] {
                (value?.arrayElements ?? []).compactMap { entry in
                    guard let fields = entry.structureFields, fields.count == 2, let host = fields[0].stringValue, let port = fields[1].uint16Value
                    else { return nil }
                    return "\(host):\(port)"
                }
            }
            // Either family may have carried the connection.
            let bOnAEndpoints = endpoints(bOnA["Addresses"])
            let aOnBEndpoints = endpoints(aOnB["Addresses"])
            #expect(bOnAEndpoints.count == 1 && ["\(lab.ipv4(1)):\(portB)", "\(lab.ipv6(1)):\(portB)"].contains(bOnAEndpoints[0]), "\(bOnAEndpoints)")
            #expect(aOnBEndpoints.count == 1 && ["\(lab.ipv4(0)):\(portA)", "\(lab.ipv6(0)):\(portA)"].contains(aOnBEndpoints[0]), "\(aOnBEndpoints)")
        }
    }
}
