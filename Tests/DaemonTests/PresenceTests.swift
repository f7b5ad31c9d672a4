import DBus
import Foundation
import PeerProtocol
import Synchronization
import Testing
import PeerCollabAPI
import TestSupport

/// Presence and objects between real daemons: pushed as they change, fetched over the
/// channel, limits refused with InvalidArgument, floods rate-limited.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct PresenceNearMeTests {
    static let error = PeerCollabBus.errorPrefix

    @Test func aPresenceChangeReachesTheNearbyPeerAsPropertiesChanged() async throws {
        let lab = try NetworkLab(hosts: 2)
        let daemons = try await LabDaemon.start(in: lab, signIn: "near-me")
        let (a, b) = (daemons[0], daemons[1])
        let pathOnB = try DBusObjectPath(PeerCollabBus.peerPath("\(try await a.peerName)"))
        _ = try await b.waitForPeers("B sees A near it") { $0[pathOnB]?["DisplayName"]?.stringValue?.isEmpty == false }
        #expect(try await b.property(pathOnB, PeerCollabBus.Interface.peer, "PresenceStatus").stringValue == "online")

        let changes = try await b.client.subscribe(to: DBusMatchRule(
            path: pathOnB, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
        try await a.managerCall("SetPresence", [.string("busy"), .string("in a meeting until 3 — ☕")])
        let signal = try await firstElement(of: changes, what: "PropertiesChanged(PresenceStatus) on B's peer object for A") {
            $0.arguments().dropFirst().first?.vardictValue?["PresenceStatus"]?.stringValue == "busy"
        }
        #expect(signal.arguments()[1].vardictValue?["PresenceMessage"]?.stringValue == "in a meeting until 3 — ☕")
        #expect(try await a.manager("PresenceStatus").stringValue == "busy")
        #expect(try await a.manager("PresenceMessage").stringValue == "in a meeting until 3 — ☕")

        // peercollabctl shows and sets the same.
        let shown = try await a.ctl(["presence"])
        #expect(shown.standardOutput == "busy: in a meeting until 3 — ☕\n", "\(shown.standardError)")
        let set = try await a.ctl(["presence", "away"])
        #expect(set.status == 0, "\(set.standardError)")
        _ = try await firstElement(of: changes, what: "away reaches B") {
            $0.arguments().dropFirst().first?.vardictValue?["PresenceStatus"]?.stringValue == "away"
        }
        #expect(try await b.property(pathOnB, PeerCollabBus.Interface.peer, "PresenceMessage").stringValue == "")
        let wrong = try await a.ctl(["presence", "sleeping"])
        #expect(wrong.status == 64)
        #expect(wrong.standardError.contains("on-the-phone"), "the error lists the statuses: \(wrong.standardError)")
    }

    @Test func objectsAreListedFetchedReplacedAndDeletedAcrossTwoDaemons() async throws {
        let lab = try NetworkLab(hosts: 2)
        let daemons = try await LabDaemon.start(in: lab, signIn: "near-me")
        let (a, b) = (daemons[0], daemons[1])
        let nameA = try await a.peerName
        let pathOnB = try DBusObjectPath(PeerCollabBus.peerPath("\(nameA)"))
        _ = try await b.waitForPeers("B sees A") { $0[pathOnB] != nil }

        let first = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try await a.managerCall("SetObject", [.string("avatar.png"), .bytes(first)])
        _ = try await b.waitForPeers("B lists A's object") { $0[pathOnB]?["Objects"]?.stringArrayValue == ["avatar.png"] }
        let fetched = try await b.call(pathOnB, PeerCollabBus.Interface.peer, "GetObject", [.string("avatar.png")])
        #expect(fetched.first?.bytesValue == first)

        // A new revision is fetched anew, not taken from the copy B kept.
        let second = Array("version two".utf8)
        try await a.managerCall("SetObject", [.string("avatar.png"), .bytes(second)])
        try await eventually("B gets the new revision") {
            let data = try? await b.call(pathOnB, PeerCollabBus.Interface.peer, "GetObject", [.string("avatar.png")])
            return data?.first?.bytesValue == second ? true : nil
        }
        // peercollabctl on B lists and fetches it too.
        let listed = try await b.ctl(["object", "list", nameA])
        #expect(listed.standardOutput == "avatar.png\n", "\(listed.standardError)")
        let got = try await b.ctl(["object", "get", nameA, "avatar.png"])
        #expect(got.standardOutput == "version two")

        try await a.managerCall("DeleteObject", [.string("avatar.png")])
        _ = try await b.waitForPeers("B sees A's object go") { $0[pathOnB]?["Objects"]?.stringArrayValue == [] }
        await #expect(throws: DBusError.self) {
            _ = try await b.call(pathOnB, PeerCollabBus.Interface.peer, "GetObject", [.string("avatar.png")])
        }
        do {
            _ = try await b.call(pathOnB, PeerCollabBus.Interface.peer, "GetObject", [.string("avatar.png")])
        } catch let error as DBusError {
            #expect(error.name == Self.error + "NotFound", "\(error)")
        }
        #expect(a.daemon.isRunning && b.daemon.isRunning)
    }

    /// After resume the daemon pings every peer and drops the silent ones at once, not after
    /// the peer timeout (60 s here). B is frozen (SIGSTOP): its sockets stay open, as those
    /// of a laptop that went to sleep or left the network do.
    @Test func resumeFromSleepDropsAPeerThatIsGoneAtOnce() async throws {
        let lab = try NetworkLab(hosts: 2)
        let system = try PrivateBus()
        let a = try await LabDaemon(lab: lab, host: 0, signIn: "near-me", extraArguments: ["--peer-timeout", "60", "--system-bus", system.address])
        let b = try await LabDaemon(lab: lab, host: 1, signIn: "near-me", extraArguments: ["--peer-timeout", "60"])
        let nameB = try await b.peerName
        _ = try await a.waitForPeers("A finds B") { $0.values.contains { $0["PeerName"]?.stringValue == nameB } }
        let logind = try DBusConnection(bus: .address(system.address))
        try await logind.requestName("org.freedesktop.login1")

        b.daemon.signal(SIGSTOP)
        defer { b.daemon.signal(SIGCONT) }
        // The daemon subscribes once it runs; repeat (bounded) until it reacts.
        try await eventually(within: .seconds(20), "A checks its peers after resume") {
            try logind.emitSignal(
                path: "/org/freedesktop/login1", interface: "org.freedesktop.login1.Manager", member: "PrepareForSleep",
                arguments: [.boolean(false)])
            return a.log.contains("Checking that every peer is still there") ? true : nil
        }
        // Well inside the 60 s peer timeout: the probe's 3 s bound is what removes B.
        _ = try await a.waitForPeers("A drops the frozen B after the check", timeout: .seconds(20)) { $0.isEmpty }
        #expect(a.log.contains("did not answer a check"), "\(a.log)")
    }
}

/// Limits, floods and auto-idle against one daemon on the host (loopback only).
struct PresenceLimitsTests {
    static let invalidArgument = PeerCollabErrorName.invalidArgument.busName

    private func expectError(_ name: String, _ daemon: LocalDaemon, _ member: String, _ arguments: [DBusValue], sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await daemon.managerCall(member, arguments)
            Issue.record("\(member) succeeded; expected \(name)", sourceLocation: sourceLocation)
        } catch let error as DBusError {
            #expect(error.name == name, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func objectAndPresenceLimitsAreInvalidArgumentAndObjectsOutliveARestart() async throws {
        let daemon = try await LocalDaemon()
        await expectError(Self.invalidArgument, daemon, "SetObject", [.string("big"), .bytes([UInt8](repeating: 1, count: 65 * 1024))])
        for id in ["", "a/b", "../x", "é", "a b", String(repeating: "a", count: 129)] {
            await expectError(Self.invalidArgument, daemon, "SetObject", [.string(id), .bytes([1])])
        }
        try await daemon.managerCall("SetObject", [.string(String(repeating: "a", count: 128)), .bytes([UInt8](repeating: 2, count: 64 * 1024))])
        for index in 1..<128 { try await daemon.managerCall("SetObject", [.string("o\(index)"), .bytes([UInt8(index)])]) }
        await expectError(Self.invalidArgument, daemon, "SetObject", [.string("one-too-many"), .bytes([0])])
        // Replacing one of the 128 is fine.
        try await daemon.managerCall("SetObject", [.string("o1"), .bytes([9, 9])])
        await expectError(PeerCollabErrorName.notFound.busName, daemon, "DeleteObject", [.string("never-published")])

        await expectError(Self.invalidArgument, daemon, "SetPresence", [.string("sleeping"), .string("")])
        await expectError(Self.invalidArgument, daemon, "SetPresence", [.string("busy"), .string("line\nbreak")])
        await expectError(Self.invalidArgument, daemon, "SetPresence", [.string("busy"), .string(String(repeating: "é", count: 513))])
        try await daemon.managerCall("SetPresence", [.string("busy"), .string(String(repeating: "é", count: 512))])

        #expect(try await daemon.manager("Objects").stringArrayValue?.count == 128)
        try await daemon.restart()
        let objects = try await daemon.manager("Objects").stringArrayValue ?? []
        #expect(objects.count == 128)
        #expect(objects.contains("o1"))
        // Presence is kept with sign-in (SignInAutomatically, on by default).
        #expect(try await daemon.manager("PresenceStatus").stringValue == "busy")
        #expect(try await daemon.manager("PresenceMessage").stringValue == String(repeating: "é", count: 512))
        let list = try await ProcessRunner.run(ProcessRunner.ctlPath, ["object", "list", "--bus", daemon.bus.address])
        #expect(list.standardOutput.split(separator: "\n").count == 128)
    }

    /// A peer sending presence updates as fast as it can: the daemon takes 10 at once and 5
    /// a second, logs one line for the burst, keeps serving, and ends showing the newest.
    @Test func aPeerFloodingPresenceUpdatesIsRateLimitedAndTheDaemonKeepsServing() async throws {
        let daemon = try await LocalDaemon(signIn: "internet")
        let peer = try await TestPeer(dialing: "127.0.0.1", port: try await daemon.port, expecting: try await daemon.peerName)
        defer { Task { await peer.close() } }
        let path = try DBusObjectPath(PeerCollabBus.peerPath("\(peer.identity.peerName)"))
        // A peer is shown once its profile arrived.
        peer.send(.profile(PeerProfile(displayName: "Flooder", presence: PeerPresence(status: .online))))
        try await eventually("the daemon shows the test peer") { (try? await daemon.peerProperty(path, "PresenceStatus")) != nil ? true : nil }
        let signals = Mutex(0)
        let changes = try await daemon.client.subscribe(to: DBusMatchRule(
            path: path, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
        let counting = Task {
            for await message in changes where message.arguments().dropFirst().first?.vardictValue?["PresenceStatus"] != nil {
                signals.withLock { $0 += 1 }
            }
        }
        defer { counting.cancel() }

        let statuses: [PresenceStatus] = [.busy, .away, .idle, .onThePhone]
        for round in 0..<5 {
            peer.send((0..<400).map { PeerMessage.presenceUpdate(PeerPresence(status: statuses[$0 % 4], message: "flood \(round)-\($0)")) })
        }
        peer.send(.presenceUpdate(PeerPresence(status: .beRightBack, message: "the last word")))
        try await eventually(within: .seconds(20), "the daemon ends on the newest presence") {
            (try? await daemon.peerProperty(path, "PresenceMessage"))?.stringValue == "the last word" ? true : nil
        }
        #expect(try await daemon.peerProperty(path, "PresenceStatus").stringValue == "be-right-back")
        // 2,001 updates; far fewer became signals, and one burst is one log line.
        #expect(signals.withLock { $0 } < 100)
        try await eventually("the burst is logged as over") { daemon.log.contains("presence flood is over") ? true : nil }
        #expect(daemon.log.components(separatedBy: "faster than 5 a second").count - 1 == 1, "\(daemon.log)")
        #expect(try await daemon.manager("Version").stringValue?.isEmpty == false)
        #expect(daemon.daemon.isRunning)
    }

    @Test func idleFromLogindShowsIdleAndTheUsersStatusReturns() async throws {
        let system = try PrivateBus()
        let logind = try await LoginStandIn(bus: system)
        let daemon = try await LocalDaemon(extraArguments: ["--system-bus", system.address])
        #expect(try await daemon.manager("PresenceStatus").stringValue == "online")

        try await logind.setIdle(true)
        try await eventually("idle while logind says so") { try? await daemon.manager("PresenceStatus").stringValue == "idle" ? true : nil }
        try await logind.setIdle(false)
        try await eventually("online again when the user is back") { try? await daemon.manager("PresenceStatus").stringValue == "online" ? true : nil }

        // A status chosen on purpose is not overridden.
        try await daemon.managerCall("SetPresence", [.string("busy"), .string("")])
        try await logind.setIdle(true)
        try await eventually("the daemon saw the second idle hint") {
            daemon.log.components(separatedBy: "The session is idle").count == 3 ? true : nil
        }
        #expect(try await daemon.manager("PresenceStatus").stringValue == "busy")
    }

    @Test func autoIdleCanBeTurnedOff() async throws {
        let system = try PrivateBus()
        let logind = try await LoginStandIn(bus: system, idle: true)
        let home = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        try FileManager.default.createDirectory(at: home.appendingPathComponent("config"), withIntermediateDirectories: true)
        try Data(#"{"autoIdle": false}"#.utf8).write(to: home.appendingPathComponent("config/settings.json"))
        let daemon = try await LocalDaemon(home: home, extraArguments: ["--system-bus", system.address])
        try await eventually("the daemon read logind's idle hint") { daemon.log.contains("The session is idle") ? true : nil }
        #expect(try await daemon.manager("PresenceStatus").stringValue == "online")
        _ = logind
    }
}

/// A daemon on the host, loopback only, with its own bus.
final class LocalDaemon: Sendable {
    let bus: PrivateBus
    let client: DBusConnection
    let home: URL
    let arguments: [String]
    let signIn: String?
    private let current: Mutex<DaemonProcess>
    var daemon: DaemonProcess { current.withLock { $0 } }
    var log: String { daemon.log }

    init(home: URL? = nil, signIn: String? = nil, extraArguments: [String] = []) async throws {
        bus = try PrivateBus()
        client = try DBusConnection(bus: .address(bus.address))
        arguments = extraArguments
        self.signIn = signIn
        let process = try DaemonProcess(bus: bus, home: home, extraArguments: extraArguments)
        self.home = process.home
        current = Mutex(process)
        try await process.waitUntilServing(client)
        if let signIn { try await managerCall("SignIn", [.string(signIn)]) }
    }

    func restart() async throws {
        daemon.signal(SIGTERM)
        _ = try await daemon.waitForExit()
        let next = try DaemonProcess(bus: bus, home: home, extraArguments: arguments)
        current.withLock { $0 = next }
        try await next.waitUntilServing(client)
        if let signIn { try await managerCall("SignIn", [.string(signIn)]) }
    }

    @discardableResult
    func managerCall(_ member: String, _ arguments: [DBusValue] = []) async throws -> [DBusValue] {
        try await client.managerCall(member, arguments)
    }

    func manager(_ name: String) async throws -> DBusValue { try await client.managerProperty(name) }

    func peerProperty(_ path: DBusObjectPath, _ name: String) async throws -> DBusValue {
        try await property(path, PeerCollabBus.Interface.peer, name)
    }

    func property(_ path: DBusObjectPath, _ interface: String, _ name: String) async throws -> DBusValue {
        try await client.daemonProperty(path, interface, name)
    }

    var peerName: String { get async throws { try await manager("PeerName").stringValue ?? "" } }

    var port: UInt16 {
        get async throws {
            guard let first = try await manager("Endpoints").arrayElements?.first?.structureFields, let port = first[1].uint16Value
            else { throw TestFailure("the daemon lists no endpoint") }
            return port
        }
    }
}

/// A small logind on a test's private system bus: `Manager.GetUser` and the user's
/// `IdleHint`, changed by the test with PropertiesChanged, as logind does when the desktop
/// sets the hint. A real service on a real bus, the daemon talks to it as to logind.
final class LoginStandIn: Sendable {
    let connection: DBusConnection
    let userPath: DBusObjectPath
    private let idle: Mutex<Bool>

    init(bus: PrivateBus, idle: Bool = false) async throws {
        connection = try DBusConnection(bus: .address(bus.address))
        self.idle = Mutex(idle)
        let userPath = try DBusObjectPath("/org/freedesktop/login1/user/_\(getuid())")
        self.userPath = userPath
        try await connection.objects.export([DBusInterface(
            name: "org.freedesktop.login1.Manager",
            methods: [DBusMethod("GetUser", in: [DBusArgument("uid", .uint32)], out: [DBusArgument("user", .objectPath)]) { _ in
                [.objectPath(userPath)]
            }])], at: "/org/freedesktop/login1")
        try await connection.objects.export([DBusInterface(
            name: "org.freedesktop.login1.User",
            properties: [DBusProperty("IdleHint", .boolean) { [self] in .boolean(self.idle.withLock { $0 }) }])], at: userPath)
        try await connection.requestName("org.freedesktop.login1")
    }

    func setIdle(_ value: Bool) async throws {
        idle.withLock { $0 = value }
        try await connection.objects.emitPropertiesChanged(path: userPath, interface: "org.freedesktop.login1.User", properties: ["IdleHint"])
    }
}

