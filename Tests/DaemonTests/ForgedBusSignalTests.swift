import DBus
import Foundation
import Logging
import Synchronization
import Testing

@testable import peercollabd
import TestSupport

/// Signals forged by other clients (on the session bus) and by other users (on the system
/// bus, which on Debian lets every user send signals) are ignored; the real ones still act.
@Suite(.serialized) struct ForgedBusSignalTests {
    static let bus: DBusObjectPath = "/org/freedesktop/DBus"

    // MARK: Session bus

    @Test func aForgedNameLostDoesNotEndTheDaemon() async throws {
        let daemon = try await LocalDaemon()
        let owner = try #require(try await daemon.client.nameOwner(DaemonProcess.service))
        let forger = try DBusConnection(bus: .address(daemon.bus.address))
        defer { forger.close() }
        for destination in [owner, nil] {
            try forger.emitSignal(
                path: Self.bus, interface: "org.freedesktop.DBus", member: "NameLost",
                arguments: [.string(DaemonProcess.service)], destination: destination)
        }
        // Round trips through the daemon after the forged signal: it has read it by then.
        for _ in 0..<20 {
            _ = try await forger.call(
                destination: owner, path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties", member: "Get",
                arguments: [.string(DaemonProcess.manager), .string("Version")])
        }
        #expect(daemon.daemon.isRunning, "\(daemon.log)")
        #expect(try await daemon.client.nameOwner(DaemonProcess.service) == owner)
        daemon.daemon.signal(SIGTERM)
        #expect(try await daemon.daemon.waitForExit() == 0)
        #expect(!daemon.log.contains("Another process took"), "\(daemon.log)")
    }

    @Test func aForgedActionInvokedAnswersNoInvitation() async throws {
        let bus = try PrivateBus()
        defer { bus.stop() }
        let server = try await NotificationServer.start(bus: bus.address)
        defer { server.stop() }
        let connection = try DBusConnection(bus: .address(bus.address))
        defer { connection.close() }
        let notifier = InvitationNotifier(connection: connection, logger: Logger(label: "test"), enabled: true)
        try await notifier.start()
        defer { Task { await notifier.stop() } }
        await notifier.show(invitationID: "i1", summary: "Alice invites you", body: "to White Board")
        let id = try #require(await notifier.notificationID(of: "i1"))

        // Another client of the session bus presses "accept", sending the server's signal
        // straight to the daemon's connection; then a round trip, so that it has been read.
        let forger = try DBusConnection(bus: .address(bus.address))
        defer { forger.close() }
        try forger.emitSignal(
            path: NotificationServer.path, interface: NotificationServer.interface, member: "ActionInvoked",
            arguments: [.uint32(id), .string("accept")], destination: connection.uniqueName)
        _ = try? await forger.call(
            destination: connection.uniqueName, path: "/", interface: "org.freedesktop.DBus.Peer", member: "Ping")
        // The real server's answer is the first the notifier hears.
        try server.invokeAction(id, "decline")
        var answers = notifier.responses.makeAsyncIterator()
        #expect(await answers.next() == .init(invitationID: "i1", answer: .decline))
    }

    // MARK: System bus

    @Test func anotherUsersForgedIdleHintLeavesMeOnlineAndLogindStillActs() async throws {
        let system = try PrivateBus(.system, listen: "unix:dir=/tmp")
        let logind = try await HeldLogind(bus: system.address)
        let daemon = try await LocalDaemon(extraArguments: ["--system-bus", system.address])
        // The daemon follows logind once it has read the hint (after subscribing to changes).
        try await eventually("the daemon reads logind's idle hint") { logind.reads >= 1 ? true : nil }
        #expect(try await daemon.manager("PresenceStatus").stringValue == "online")

        let observer = try DBusConnection(bus: .address(system.address))
        defer { observer.close() }
        let victims = try await Nobody.connections(of: daemon.daemon.pid, on: observer)
        #expect(!victims.isEmpty)
        try await Nobody.forge(
            on: system.address, to: victims, path: logind.userPath.rawValue,
            signal: "org.freedesktop.DBus.Properties.PropertiesChanged",
            ["'org.freedesktop.login1.User'", "{'IdleHint': <true>}", "@as []"])

        // Logind itself says the hint changed without the value: the daemon reads it, which
        // it does only after handling everything that came before. Held there, the daemon
        // shows what the forged signal did.
        try await logind.invalidate()
        try await eventually("the daemon reads the hint again") { logind.reads >= 2 ? true : nil }
        #expect(try await daemon.manager("PresenceStatus").stringValue == "online", "\(daemon.log)")
        #expect(!daemon.log.contains("The session is idle"), "\(daemon.log)")
        logind.release()

        // The real logind still sets me idle.
        try await logind.setIdle(true)
        try await eventually("idle while logind says so") {
            try? await daemon.manager("PresenceStatus").stringValue == "idle" ? true : nil
        }
    }
}

/// Resume, network and Avahi signals on a lab host's system bus, forged by `nobody`.
@Suite(.enabled(if: NetworkLab.isAvailable && avahiInstalled, "needs root, iproute2 and avahi-daemon (for a private system bus)"))
struct ForgedSystemSignalTests {
    @Test func anotherUsersForgedSleepNetworkAndAvahiSignalsAreIgnored() async throws {
        let lab = try NetworkLab(hosts: 1)
        let system = try await LabAvahi(lab: lab, host: 0)
        let a = try await LabDaemon(
            lab: lab, host: 0, signIn: "near-me", discovery: "avahi", extraArguments: ["--system-bus", system.busAddress])
        let logind = try DBusConnection(bus: .address(system.busAddress))
        defer { logind.close() }
        try await logind.requestName("org.freedesktop.login1")
        let networkManager = try DBusConnection(bus: .address(system.busAddress))
        defer { networkManager.close() }
        try await networkManager.requestName("org.freedesktop.NetworkManager")
        func count(_ text: String) -> Int { a.log.components(separatedBy: text).count - 1 }
        func resume() throws {
            try logind.emitSignal(
                path: "/org/freedesktop/login1", interface: "org.freedesktop.login1.Manager", member: "PrepareForSleep",
                arguments: [.boolean(false)])
        }
        func connected() throws {
            try networkManager.emitSignal(
                path: "/org/freedesktop/NetworkManager", interface: "org.freedesktop.NetworkManager", member: "StateChanged",
                arguments: [.uint32(70)])
        }
        // The daemon subscribes after it starts; the real signals are repeated (bounded) until it reacts.
        for _ in 0..<100 where count("resumed from sleep") == 0 {
            try resume()
            try await Task.sleep(for: .milliseconds(100))
        }
        for _ in 0..<100 where count("network connected") == 0 {
            try connected()
            try await Task.sleep(for: .milliseconds(100))
        }
        let resumes = count("resumed from sleep")
        let connections = count("network connected")
        #expect(resumes > 0 && connections > 0, "\(a.log)")

        let observer = try DBusConnection(bus: .address(system.busAddress))
        defer { observer.close() }
        let victims = try await Nobody.connections(of: a.daemon.pid, on: observer)
        let avahiOwner = try #require(try await observer.nameOwner("org.freedesktop.Avahi"))
        for _ in 0..<5 {
            try await Nobody.forge(
                on: system.busAddress, to: victims, path: "/org/freedesktop/login1",
                signal: "org.freedesktop.login1.Manager.PrepareForSleep", ["false"])
            try await Nobody.forge(
                on: system.busAddress, to: victims, path: "/org/freedesktop/NetworkManager",
                signal: "org.freedesktop.NetworkManager.StateChanged", ["uint32 70"])
        }
        try await Nobody.forge(
            on: system.busAddress, to: victims, path: "/org/freedesktop/DBus",
            signal: "org.freedesktop.DBus.NameOwnerChanged", ["'org.freedesktop.Avahi'", "'\(avahiOwner)'", "''"])

        // The real ones, sent after the forged ones, are each one more refresh, and come
        // after the forged ones on the same streams.
        try resume()
        try connected()
        try await eventually(within: .seconds(15), "a refresh after the real resume") { count("resumed from sleep") >= resumes + 1 ? true : nil }
        try await eventually(within: .seconds(15), "a refresh after the real connection") { count("network connected") >= connections + 1 ? true : nil }
        #expect(count("resumed from sleep") == resumes + 1, "\(a.log)")
        #expect(count("network connected") == connections + 1, "\(a.log)")

        // Avahi is still followed: Diagnose names its owner, and nothing said it left.
        let report = try await a.managerCall("Diagnose")
        let checks = report.first?.vardictValue?["checks"]?.arrayElements ?? []
        let avahi = checks.compactMap(\.structureFields).first { $0.first?.stringValue == "avahi-daemon" }
        #expect(avahi?[1].boolValue == true, "\(checks)")
        #expect(avahi?[2].stringValue?.contains(avahiOwner) == true, "\(checks)")
        #expect(!a.log.contains("avahi-daemon left the bus"), "\(a.log)")
    }
}

/// A logind on a test's system bus whose `IdleHint` reads, after the first, wait until the
/// test releases them: a read shows the daemon has handled every earlier signal, and holding
/// it keeps the daemon there while the test looks.
final class HeldLogind: Sendable {
    let connection: DBusConnection
    let userPath: DBusObjectPath
    private let state = Mutex<(idle: Bool, reads: Int, released: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, 0, false, []))

    init(bus address: String) async throws {
        connection = try DBusConnection(bus: .address(address))
        let userPath = try DBusObjectPath("/org/freedesktop/login1/user/_\(getuid())")
        self.userPath = userPath
        try await connection.objects.export([DBusInterface(
            name: "org.freedesktop.login1.Manager",
            methods: [DBusMethod("GetUser", in: [DBusArgument("uid", .uint32)], out: [DBusArgument("user", .objectPath)]) { _ in
                [.objectPath(userPath)]
            }])], at: "/org/freedesktop/login1")
        try await connection.objects.export([DBusInterface(
            name: "org.freedesktop.login1.User",
            properties: [DBusProperty("IdleHint", .boolean) { [self] in .boolean(await self.read()) }])], at: userPath)
        try await connection.requestName("org.freedesktop.login1")
    }

    var reads: Int { state.withLock { $0.reads } }

    private func read() async -> Bool {
        await withCheckedContinuation { continuation in
            let goOn = state.withLock { state -> Bool in
                state.reads += 1
                if state.reads == 1 || state.released { return true }
                state.waiting.append(continuation)
                return false
            }
            if goOn { continuation.resume() }
        }
        return state.withLock { $0.idle }
    }

    /// Lets held reads (and all later ones) answer.
    func release() {
        let waiting = state.withLock { state in
            state.released = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    /// PropertiesChanged naming IdleHint as invalidated, without its value.
    func invalidate() async throws {
        try connection.emitSignal(
            path: userPath, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged",
            arguments: [.string("org.freedesktop.login1.User"), .vardict([:]), .strings(["IdleHint"])])
    }

    func setIdle(_ value: Bool) async throws {
        state.withLock { $0.idle = value }
        try connection.emitSignal(
            path: userPath, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged",
            arguments: [.string("org.freedesktop.login1.User"), .vardict(["IdleHint": .boolean(value)]), .strings([])])
    }
}

/// A forged NameOwnerChanged ("that caller left the bus") ends nobody's Wait().
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct ForgedCallerVanishedTests {
    @Test func aForgedNameOwnerChangedEndsNoWait() async throws {
        let pair = try await InvitationPair()
        let outgoing = try await pair.invite()
        let waiter = try DBusConnection(bus: .address(pair.a.bus.address))
        defer { waiter.close() }
        let waiting = Task {
            try await waiter.call(
                destination: DaemonProcess.service, path: outgoing, interface: InvitationPair.invitation, member: "Wait",
                timeout: .seconds(60))
        }
        // The waiter's next call is handled after its Wait: the wait is held by then.
        _ = try await waiter.daemonProperty(outgoing, InvitationPair.invitation, "State")

        // Another client says the waiter left, straight to the daemon and to everyone.
        let daemonName = try #require(try await pair.a.client.nameOwner(DaemonProcess.service))
        let forger = try DBusConnection(bus: .address(pair.a.bus.address))
        defer { forger.close() }
        for destination in [daemonName, nil] {
            try forger.emitSignal(
                path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged",
                arguments: [.string(waiter.uniqueName), .string(waiter.uniqueName), .string("")], destination: destination)
        }
        for _ in 0..<10 { _ = try await forger.managerProperty("Version") }
        #expect(!pair.a.log.contains("Ended the waits of a caller that left the bus"), "\(pair.a.log)")

        // The wait is still there and hears the outcome.
        try await pair.call(pair.a, outgoing, "Cancel")
        let outcome = await waiting.result
        #expect((try? outcome.get())?.first?.stringValue == "cancelled", "\(outcome)")
    }
}
