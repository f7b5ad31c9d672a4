import DBus
import Foundation
import PeerCollabAPI
import Synchronization
import Testing
import TestSupport

/// kill -9 at random moments while acknowledged changes go on (contacts, nicknames,
/// objects, applications, settings), a restart each time: every change the daemon
/// acknowledged is there after the restart. A change whose call was in flight when the
/// daemon died may be there or not, but nothing else. PEERCOLLAB_CRASH_ROUNDS sets the
/// rounds (default 30; the full run is 200); PEERCOLLAB_CRASH_SEED repeats a run.
@Suite struct CrashSafetyTests {
    /// What is stored, by key ("object:ID", "contact:PEERNAME", "nick:PEERNAME", "app:ID",
    /// "setting:NAME"); nil: absent.
    typealias State = [String: String]

    /// A small seeded generator, so that a failing run can be repeated.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state ^ (state >> 29)
        }
    }

    static func observe(_ client: DBusConnection) async throws -> State {
        var state: State = [:]
        for id in try await client.managerProperty("Objects").stringArrayValue ?? [] { state["object:\(id)"] = "present" }
        for (peerName, properties) in try await client.contacts() {
            state["contact:\(peerName)"] = "present"
            state["nick:\(peerName)"] = properties["Nickname"]?.stringValue ?? ""
        }
        let reply = try await client.call(
            destination: DaemonProcess.service, path: DaemonProcess.root,
            interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects", timeout: .seconds(60))
        if case .dictionary(_, _, let entries)? = reply.first {
            for entry in entries {
                guard case .dictionary(_, _, let interfaces) = entry.value else { continue }
                for interface in interfaces where interface.key.stringValue == PeerCollabBus.Interface.application {
                    let properties = interface.value.vardictValue ?? [:]
                    if let id = properties["Id"]?.stringValue { state["app:\(id)"] = properties["Name"]?.stringValue ?? "" }
                }
            }
        }
        for name in ["DisplayName", "Email", "InvitationPolicy"] {
            state["setting:\(name)"] = try await client.managerProperty(name).stringValue ?? ""
        }
        return state
    }

    @Test func everyAcknowledgedChangeSurvivesKillNine() async throws {
        let environment = ProcessInfo.processInfo.environment
        let rounds = environment["PEERCOLLAB_CRASH_ROUNDS"].flatMap(Int.init) ?? 30
        let seed = environment["PEERCOLLAB_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        var random = Generator(state: seed)
        let people = try (0..<12).map { try ContactCards.person("Person \($0)") }
        let home = try HardeningTests.emptyHome()
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        defer { client.close() }

        var daemon = try DaemonProcess(bus: bus, home: home)
        try await daemon.waitUntilServing(client)
        var acknowledged = try await Self.observe(client)
        var acknowledgedChanges = 0
        var kills = 0

        for round in 0..<rounds {
            // What may be there after this round's kill: the acknowledged state, and for each
            // key whose call was in flight, also the value that call asked for.
            var inFlight: [String: String?] = [:]
            let victim = daemon
            let delay = Int.random(in: 2...120, using: &random)
            let killer = Task {
                try? await Task.sleep(for: .milliseconds(delay))
                victim.signal(SIGKILL)
            }
            changes: for step in 0..<400 {
                let kind = Int.random(in: 0..<8, using: &random)
                let key: String
                let value: String?
                let call: () async throws -> Void
                switch kind {
                case 0, 1:
                    let id = "o\(Int.random(in: 0..<20, using: &random))"
                    key = "object:\(id)"
                    if acknowledged[key] != nil, kind == 1 {
                        value = nil
                        call = { try await client.managerCall("DeleteObject", [.string(id)]) }
                    } else {
                        value = "present"
                        call = { try await client.managerCall("SetObject", [.string(id), .bytes(Array("r\(round)s\(step)".utf8))]) }
                    }
                case 2:
                    let person = people[Int.random(in: 0..<people.count, using: &random)]
                    key = "contact:\(person.peerName)"
                    if acknowledged[key] == nil {
                        value = "present"
                        call = { _ = try await client.addContact(person.card()) }
                    } else {
                        value = nil
                        call = {
                            _ = try await client.call(
                                destination: DaemonProcess.service, path: ContactCards.contactPath(person.peerName),
                                interface: ContactCards.contactInterface, member: "Remove")
                        }
                    }
                case 3:
                    let person = people[Int.random(in: 0..<people.count, using: &random)]
                    guard acknowledged["contact:\(person.peerName)"] != nil else { continue changes }
                    key = "nick:\(person.peerName)"
                    let nickname = "Nick \(round)-\(step)"
                    value = nickname
                    call = {
                        _ = try await client.call(
                            destination: DaemonProcess.service, path: ContactCards.contactPath(person.peerName),
                            interface: "org.freedesktop.DBus.Properties", member: "Set",
                            arguments: [.string(ContactCards.contactInterface), .string("Nickname"), .variant(.string(nickname))])
                    }
                case 4:
                    let id = "org.example.App\(Int.random(in: 0..<6, using: &random))"
                    key = "app:\(id)"
                    if acknowledged[key] == nil {
                        let name = "App \(round)-\(step)"
                        value = name
                        call = { try await client.managerCall("RegisterApplication", [.string(id), .vardict(["name": .string(name)])]) }
                    } else {
                        value = nil
                        call = { try await client.managerCall("UnregisterApplication", [.string(id)]) }
                    }
                default:
                    let (name, text): (String, String) =
                        switch kind {
                        case 5: ("DisplayName", "Name \(round)-\(step)")
                        case 6: ("Email", "n\(round)s\(step)@example.org")
                        default: ("InvitationPolicy", ["anyone", "contacts", "nobody"][Int.random(in: 0..<3, using: &random)])
                        }
                    key = "setting:\(name)"
                    value = text
                    call = {
                        _ = try await client.call(
                            destination: DaemonProcess.service, path: DaemonProcess.root,
                            interface: "org.freedesktop.DBus.Properties", member: "Set",
                            arguments: [.string(DaemonProcess.manager), .string(name), .variant(.string(text))])
                    }
                }
                do {
                    try await call()
                    acknowledged[key] = value
                    // A contact removed takes its nickname along.
                    if key.hasPrefix("contact:"), value == nil { acknowledged["nick:" + key.dropFirst("contact:".count)] = nil }
                    if key.hasPrefix("contact:"), value != nil { acknowledged["nick:" + key.dropFirst("contact:".count)] = "" }
                    acknowledgedChanges += 1
                } catch {
                    // The daemon died under this call (every call here is valid): it may or may not have counted.
                    inFlight[key] = value
                    break changes
                }
            }
            _ = await killer.value
            _ = try await victim.waitForExit()
            kills += 1

            daemon = try DaemonProcess(bus: bus, home: home)
            try await daemon.waitUntilServing(client)
            let found = try await Self.observe(client)
            for key in Set(found.keys).union(acknowledged.keys) {
                let allowed: [String?] = [acknowledged[key]] + (inFlight[key].map { [$0] } ?? [])
                    + (inFlight.keys.contains { $0.hasPrefix("contact:") && key == "nick:" + $0.dropFirst("contact:".count) } ? [nil, ""] : [])
                try #require(
                    allowed.contains(found[key]),
                    "round \(round) (seed \(seed)): \(key) is \(found[key] ?? "absent"), acknowledged \(acknowledged[key] ?? "absent")\(inFlight[key].map { ", in flight \($0 ?? "absent")" } ?? "")\n\(daemon.log.suffix(2000))")
            }
            // The store was never found damaged.
            let store = try #require(try await DamagedSetupTests.checks(client)["store"])
            try #require(store.ok, "round \(round): \(store.detail)")
            acknowledged = found
        }
        daemon.signal(SIGTERM)
        _ = try await daemon.waitForExit()
        print("crash safety: \(rounds) rounds, \(kills) kills, \(acknowledgedChanges) acknowledged changes, seed \(seed)")
        #expect(kills == rounds)
        #expect(acknowledgedChanges >= rounds)
    }
}
