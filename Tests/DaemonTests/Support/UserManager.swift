import Foundation
import PeerCollabAPI
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A `systemd --user` of our own, in a temporary folder with its own runtime, config and data
/// folders, so a test can install peercollab.service and its activation file and drive them
/// with `systemctl --user` and `busctl --user` without touching /run/user or the real home.
final class UserManager: Sendable {
    static let executable = "/lib/systemd/systemd"
    /// dbus-user-session's socket unit, which gives the manager a session bus at `$XDG_RUNTIME_DIR/bus`.
    static let busSocketUnit = "/usr/lib/systemd/user/dbus.socket"
    static let unit = "peercollab.service"
    static let busName = PeerCollabBus.serviceName

    /// The manager of the suite running now (see ``UserManagerTrait``).
    @TaskLocal static var current: UserManager?

    /// Why a user manager cannot run here, nil when it can.
    static var unavailableReason: String? {
        if !FileManager.default.isExecutableFile(atPath: executable) { return "\(executable) is not installed" }
        if !FileManager.default.fileExists(atPath: busSocketUnit) { return "\(busSocketUnit) is missing (install dbus-user-session)" }
        if getuid() != 0 { return "creating /run/systemd/system (which systemd --user needs outside a booted system) takes root" }
        return nil
    }

    let root: URL
    let process: Subprocess

    var runtimeDirectory: URL { root.appendingPathComponent("run") }
    var configHome: URL { root.appendingPathComponent("config") }
    var dataHome: URL { root.appendingPathComponent("data") }
    var busAddress: String { "unix:path=\(runtimeDirectory.path)/bus" }
    /// Where the unit's stdout and stderr go: there is no journald here.
    var daemonLogURL: URL { root.appendingPathComponent("daemon.log") }
    var managerLogURL: URL { root.appendingPathComponent("manager.log") }
    var unitDirectory: URL { configHome.appendingPathComponent("systemd/user") }
    var dropInDirectory: URL { unitDirectory.appendingPathComponent("\(Self.unit).d") }
    var settingsURL: URL { configHome.appendingPathComponent("peercollab/settings.json") }

    /// The environment `systemctl --user` and `busctl --user` need to find this manager and its bus.
    var clientEnvironment: [String: String] {
        [
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": root.appendingPathComponent("home").path,
            "XDG_RUNTIME_DIR": runtimeDirectory.path, "DBUS_SESSION_BUS_ADDRESS": busAddress,
            "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0",
        ]
    }

    /// Installs the unit and activation file from the repository (with `@BINDIR@` the folder of
    /// the built peercollabd), starts the manager with a clean environment and waits until
    /// `systemctl --user` reaches it.
    static func start() async throws -> UserManager {
        try FileManager.default.createDirectory(atPath: "/run/systemd/system", withIntermediateDirectories: true)
        // mkdtemp, not FileManager's replacement folder: the path goes into unit files and
        // socket addresses, which want it short and without spaces.
        var template = Array("/tmp/pc-systemd.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed: \(String(cString: strerror(errno)))") }
        let root = URL(fileURLWithPath: String(cString: made))
        let manager = try UserManager(root: root)
        do {
            try await manager.waitUntilReachable()
        } catch {
            await manager.stop()
            throw error
        }
        return manager
    }

    private init(root: URL) throws {
        self.root = root
        let files = FileManager.default
        for folder in ["run", "config", "data", "home"] {
            try files.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try files.setAttributes([.posixPermissions: 0o700], ofItemAtPath: root.appendingPathComponent("run").path)
        try Self.install(root: root)
        let environment = [
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": root.appendingPathComponent("home").path,
            "XDG_RUNTIME_DIR": root.appendingPathComponent("run").path,
            "XDG_CONFIG_HOME": root.appendingPathComponent("config").path,
            "XDG_DATA_HOME": root.appendingPathComponent("data").path,
        ]
        process = try Subprocess(
            Self.executable, ["--user"], environment: environment, captureOutput: false,
            outputFile: root.appendingPathComponent("manager.log").path)
    }

    private static func install(root: URL) throws {
        let binDirectory = ProcessRunner.productsDirectory.path
        let repository = ProcessRunner.repositoryRoot
        let unitDirectory = root.appendingPathComponent("config/systemd/user")
        let servicesDirectory = root.appendingPathComponent("data/dbus-1/services")
        let dropIns = unitDirectory.appendingPathComponent("\(unit).d")
        for folder in [unitDirectory, servicesDirectory, dropIns] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        let pairs = [
            ("systemd/peercollab.service.in", unitDirectory.appendingPathComponent(unit)),
            ("dbus/\(busName).service.in", servicesDirectory.appendingPathComponent("\(busName).service")),
        ]
        for (source, destination) in pairs {
            let text = try String(contentsOf: repository.appendingPathComponent(source), encoding: .utf8)
            try text.replacingOccurrences(of: "@BINDIR@", with: binDirectory)
                .write(to: destination, atomically: true, encoding: .utf8)
        }
        let log = root.appendingPathComponent("daemon.log").path
        try "[Service]\nStandardOutput=append:\(log)\nStandardError=append:\(log)\n"
            .write(to: dropIns.appendingPathComponent("log.conf"), atomically: true, encoding: .utf8)
    }

    private func waitUntilReachable() async throws {
        let privateSocket = runtimeDirectory.appendingPathComponent("systemd/private").path
        let busSocket = runtimeDirectory.appendingPathComponent("bus").path
        _ = try await eventually(
            "systemd --user answering on \(privateSocket) with its bus socket \(busSocket)",
            lastSeen: { "manager log: \(self.managerLog)" }
        ) { () -> Bool? in
            guard process.isRunning else {
                throw TestFailure("systemd --user exited with \(process.terminationStatus ?? -1): \(managerLog)")
            }
            guard FileManager.default.fileExists(atPath: privateSocket),
                FileManager.default.fileExists(atPath: busSocket)
            else { return nil }
            return try systemctl(["show-environment"]).status == 0 ? true : nil
        }
    }

    var managerLog: String { (try? String(contentsOf: managerLogURL, encoding: .utf8)) ?? "" }
    var daemonLog: String { (try? String(contentsOf: daemonLogURL, encoding: .utf8)) ?? "" }
    /// How far the daemon log reaches now, to read only what a step adds.
    var daemonLogLength: Int { daemonLog.utf8.count }
    /// What the daemon logged after `offset` (a ``daemonLogLength``).
    func daemonLog(since offset: Int) -> String {
        String(decoding: daemonLog.utf8.dropFirst(offset), as: UTF8.self)
    }

    func systemctl(_ arguments: [String]) throws -> ProcessRunner.Output {
        try ProcessRunner.run("/usr/bin/systemctl", ["--user"] + arguments, environment: clientEnvironment, timeout: .seconds(30))
    }

    func busctl(_ arguments: [String]) throws -> ProcessRunner.Output {
        try ProcessRunner.run("/usr/bin/busctl", ["--user"] + arguments, environment: clientEnvironment, timeout: .seconds(30))
    }

    /// The unit's properties as `systemctl --user show` prints them.
    func unitProperties(_ names: [String] = UnitState.propertyNames) throws -> [String: String] {
        let output = try systemctl(["show", Self.unit] + names.flatMap { ["-p", $0] })
        guard output.status == 0 else { throw TestFailure("systemctl --user show failed: \(output.standardError)") }
        var properties: [String: String] = [:]
        for line in output.standardOutput.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            properties[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return properties
    }

    func unitState() throws -> UnitState { UnitState(try unitProperties()) }

    /// The PID owning `busName` on the session bus, nil when nobody owns it.
    func busNameOwnerPID() throws -> Int32? {
        let output = try busctl([
            "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "GetConnectionUnixProcessID", "s", Self.busName,
        ])
        guard output.status == 0 else { return nil }
        // "u 1234"
        return output.standardOutput.split(separator: " ").last.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Writes a drop-in for the unit and makes the manager read it (`daemon-reload`).
    func setDropIn(_ name: String, _ contents: String?) throws {
        let url = dropInDirectory.appendingPathComponent(name)
        if let contents {
            try contents.write(to: url, atomically: true, encoding: .utf8)
        } else {
            try? FileManager.default.removeItem(at: url)
        }
        let reload = try systemctl(["daemon-reload"])
        guard reload.status == 0 else { throw TestFailure("systemctl --user daemon-reload failed: \(reload.standardError)") }
    }

    /// `systemd-analyze --user security` for the unit, as text.
    func analyzeSecurity() throws -> String {
        let output = try ProcessRunner.run(
            "/usr/bin/systemd-analyze", ["--user", "security", "--no-pager", Self.unit],
            environment: clientEnvironment, timeout: .seconds(30))
        return output.standardOutput + output.standardError
    }

    /// Stops the manager by its PID (SIGTERM, SIGKILL after a bounded wait), then kills whatever
    /// it started that outlived it, and removes the folder.
    func stop() async {
        var leftovers = ProcessTree.descendants(of: process.pid)
        if let mainPID = try? unitState().mainPID, mainPID > 0 {
            leftovers.append(contentsOf: ProcessTree.identities(of: [mainPID]))
        }
        process.signal(SIGTERM)
        let deadline = ContinuousClock.now + .seconds(15)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            process.signal(SIGKILL)
        }
        _ = process.wait()
        ProcessTree.kill(leftovers)
        try? FileManager.default.removeItem(at: root)
    }
}
