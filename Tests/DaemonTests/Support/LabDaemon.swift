import DBus
import Foundation
import Synchronization
import PeerCollabAPI
import TestSupport

/// A daemon on one host of a ``NetworkLab``, with its own bus, its own folders and a client
/// connection to it. It can be restarted (same folders, so the same identity) and killed.
final class LabDaemon: Sendable {
    let lab: NetworkLab
    let host: Int
    let bus: PrivateBus
    let client: DBusConnection
    /// Its folders (config, data, and `daemon.log` with everything it wrote to stderr): kept
    /// across restarts.
    let home: URL
    private let arguments: [String]
    private let defaultPort: Bool
    private let scope: String?
    private let current: Mutex<DaemonProcess>

    /// The process running now (a new one after ``restart(kill:)``).
    var daemon: DaemonProcess { current.withLock { $0 } }

    /// Starts it and signs it in to `scope` (nil: stays signed out). The lab lives at least as
    /// long as its daemons, so that no namespace is removed under a running test.
    init(
        lab: NetworkLab, host: Int, home: URL? = nil, signIn scope: String? = "internet", discovery: String = "builtin",
        extraArguments: [String] = [], bus: PrivateBus? = nil, defaultPort: Bool = false
    ) async throws {
        self.lab = lab
        self.defaultPort = defaultPort
        self.host = host
        self.scope = scope
        self.bus = try bus ?? PrivateBus()
        client = try DBusConnection(bus: .address(self.bus.address))
        arguments = (extraArguments.contains("--port") || defaultPort ? [] : ["--port", "0"])
            + ["--interfaces", "eth0", "--discovery", discovery] + extraArguments
        let first = try DaemonProcess(bus: self.bus, home: home, extraArguments: arguments, prefix: lab.prefix(host), defaultPort: defaultPort)
        self.home = first.home
        current = Mutex(first)
        lab.record(self)
        try await first.waitUntilServing(client)
        if let scope { try await managerCall("SignIn", [.string(scope)]) }
    }

    /// Starts one daemon on each of `hosts` (every host of the lab when nil) at once, each
    /// signed in to `scope`; returned in the order of `hosts`.
    static func start(
        in lab: NetworkLab, hosts: [Int]? = nil, signIn scope: String? = "internet", discovery: String = "builtin",
        extraArguments: [String] = []
    ) async throws -> [LabDaemon] {
        let hosts = hosts ?? Array(lab.hosts.indices)
        return try await withThrowingTaskGroup(of: (Int, LabDaemon).self) { group in
            for (position, host) in hosts.enumerated() {
                group.addTask {
                    (position, try await LabDaemon(lab: lab, host: host, signIn: scope, discovery: discovery, extraArguments: extraArguments))
                }
            }
            var started: [Int: LabDaemon] = [:]
            for try await (position, daemon) in group { started[position] = daemon }
            return hosts.indices.map { started[$0]! }
        }
    }

    // MARK: Life and death

    /// Stops it (SIGTERM, or SIGKILL when `kill` is set), waits for it to end, and starts it
    /// again with the same folders, bus and arguments; then signs it in to what it was first
    /// signed in to (a no-op when the daemon kept its sign-in, SignInAutomatically).
    func restart(kill: Bool = false) async throws {
        let old = daemon
        if old.isRunning {
            old.signal(kill ? SIGKILL : SIGTERM)
            _ = try await old.waitForExit()
        }
        try? "--- restarted by the test ---\n".appendLine(to: old.logURL)
        let next = try DaemonProcess(bus: bus, home: home, extraArguments: arguments, prefix: lab.prefix(host), defaultPort: defaultPort)
        current.withLock { $0 = next }
        try await next.waitUntilServing(client)
        if let scope { try await managerCall("SignIn", [.string(scope)]) }
    }

    /// `kill -9`: no goodbye, no cleanup; returns once the process is gone.
    func kill() async throws {
        let process = daemon
        process.signal(SIGKILL)
        _ = try await process.waitForExit()
    }

    /// Everything it wrote (its log goes to stderr: no journald runs here), over all restarts.
    var log: String { daemon.log }

    // MARK: Calls

    /// Calls any method of the daemon.
    @discardableResult
    func call(
        _ path: DBusObjectPath, _ interface: String, _ member: String, _ arguments: [DBusValue] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> [DBusValue] {
        try await client.call(
            destination: DaemonProcess.service, path: path, interface: interface, member: member,
            arguments: arguments, timeout: timeout)
    }

    @discardableResult
    func managerCall(_ member: String, _ arguments: [DBusValue] = []) async throws -> [DBusValue] {
        try await client.managerCall(member, arguments)
    }

    func manager(_ name: String) async throws -> DBusValue {
        try await client.managerProperty(name)
    }

    func property(_ path: DBusObjectPath, _ interface: String, _ name: String) async throws -> DBusValue {
        try await client.daemonProperty(path, interface, name)
    }

    /// Runs `busctl` against its bus (`busctl --address=… ARGUMENTS`), as a user would.
    func busctl(_ arguments: [String]) async throws -> ProcessRunner.Output {
        try await ProcessRunner.run("/usr/bin/busctl", ["--address=\(bus.address)"] + arguments, timeout: .seconds(30))
    }

    /// Runs `peercollabctl ARGUMENTS --bus …` inside its host's namespace, as a user on that
    /// host would.
    func ctl(_ arguments: [String]) async throws -> ProcessRunner.Output {
        try await lab.run(on: host, ProcessRunner.ctlPath, arguments + ["--bus", bus.address])
    }

    var peerName: String { get async throws { try await manager("PeerName").stringValue ?? "" } }

    /// The port it listens on (from its Endpoints).
    var port: UInt16 {
        get async throws {
            guard let first = try await manager("Endpoints").arrayElements?.first?.structureFields,
                let port = first[1].uint16Value
            else { throw TestFailure("the daemon lists no endpoint") }
            return port
        }
    }

    /// A contact link to it at its address of `family` ("ipv4" or "ipv6") in the lab.
    func link(_ family: String = "ipv4") async throws -> String {
        let host = family == "ipv6" ? "[\(lab.ipv6(self.host))]" : lab.ipv4(self.host)
        return "peercollab:\(try await peerName)@\(host):\(try await port)"
    }

    /// Calls Manager.Connect and returns the peer object's path.
    func connect(_ link: String) async throws -> DBusObjectPath {
        let reply = try await call(DaemonProcess.root, DaemonProcess.manager, "Connect", [.string(link)])
        guard let path = reply.first?.objectPathValue else { throw TestFailure("Connect returned no path") }
        return path
    }

    /// The peer objects it exports now, with their Peer properties.
    func peers() async throws -> [DBusObjectPath: [String: DBusValue]] {
        let reply = try await call(DaemonProcess.root, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
        guard case .dictionary(_, _, let entries)? = reply.first else { return [:] }
        var result: [DBusObjectPath: [String: DBusValue]] = [:]
        for entry in entries {
            guard let path = entry.key.objectPathValue, case .dictionary(_, _, let interfaces) = entry.value else { continue }
            for interface in interfaces where interface.key.stringValue == PeerCollabBus.Interface.peer {
                result[path] = interface.value.vardictValue
            }
        }
        return result
    }

    /// The Peer properties of the peer object named `peerName`, if it shows one.
    func peer(named peerName: String) async throws -> [String: DBusValue]? {
        try await peers().values.first { $0["PeerName"]?.stringValue == peerName }
    }

    /// Waits (bounded) until `condition` holds for its peer objects.
    func waitForPeers(
        _ what: String, timeout: Duration = .seconds(20),
        _ condition: ([DBusObjectPath: [String: DBusValue]]) -> Bool
    ) async throws -> [DBusObjectPath: [String: DBusValue]] {
        let deadline = ContinuousClock.now + timeout
        var last: [DBusObjectPath: [String: DBusValue]] = [:]
        while ContinuousClock.now < deadline {
            last = try await peers()
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("never happened within \(timeout): \(what)\nlast seen: \(last.keys.map(\.rawValue).sorted())\n\(lab.logs)")
    }
}

extension NetworkLab {
    /// Every daemon's log in this lab, each under a heading naming its host: what a failure
    /// message carries.
    var logs: String {
        daemonLogs.withLock { $0 }.map { host, url in
            "--- peercollabd on host \(host) (\(url.path)) ---\n" + ((try? String(contentsOf: url, encoding: .utf8)) ?? "")
        }.joined(separator: "\n")
    }

    /// Runs `body`; an error it throws comes back with every daemon's log attached.
    func withLogs<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw TestFailure("\(error)\n\(logs)")
        }
    }

    fileprivate func record(_ daemon: LabDaemon) {
        daemonLogs.withLock { $0.append((host: daemon.host, log: daemon.daemon.logURL)) }
    }
}

extension String {
    fileprivate func appendLine(to url: URL) throws {
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(utf8))
    }
}
