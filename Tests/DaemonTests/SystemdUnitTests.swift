import Foundation
import Testing
import PeerCollabAPI
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// peercollab.service and its D-Bus activation file under a real `systemd --user`, driven with
/// `systemctl --user` and `busctl --user` as a user would: readiness, activation, reload,
/// restart after a crash, stop, the watchdog and the hardening.
///
/// One user manager serves the whole suite, and the tests share its unit, so they run one at a
/// time; each first brings the unit to the state it starts from.
@Suite(
    .serialized, .userManager,
    .enabled(if: UserManager.unavailableReason == nil, "needs /lib/systemd/systemd, dbus-user-session and root"))
struct SystemdUnitTests {
    static let status = "Serving org.peercollab.PeerCollab1"
    static let root = PeerCollabBus.rootPath
    static let manager = PeerCollabBus.Interface.manager

    let systemd: UserManager

    init() throws {
        systemd = try #require(UserManager.current, "the suite runs inside its user manager")
    }

    // MARK: Steps shared by the tests

    /// Stops the unit and clears its failure state and start-rate counter (the unit allows five
    /// starts a minute, and this suite starts it more often than that on purpose).
    func bringToInactive() async throws {
        let stop = try systemd.systemctl(["stop", UserManager.unit])
        #expect(stop.status == 0, "systemctl --user stop: \(stop.standardError)")
        _ = try systemd.systemctl(["reset-failed", UserManager.unit])
        _ = try await eventually("peercollab.service inactive after stop", lastSeen: { self.seen() }) {
            try systemd.unitState().isInactive ? true : nil
        }
    }

    /// Starts the unit (from whatever state) and returns its state once running.
    @discardableResult
    func bringToRunning() async throws -> UnitState {
        _ = try systemd.systemctl(["reset-failed", UserManager.unit])
        let start = try systemd.systemctl(["start", UserManager.unit])
        try #require(start.status == 0, "systemctl --user start: \(start.standardError)\n\(seen())")
        return try await eventually("peercollab.service active (running)", lastSeen: { self.seen() }) {
            let state = try systemd.unitState()
            return state.isRunning ? state : nil
        }
    }

    func displayName() throws -> String? {
        let output = try systemd.busctl(["get-property", UserManager.busName, Self.root, Self.manager, "DisplayName"])
        guard output.status == 0 else { return nil }
        return Self.busctlString(output.standardOutput)
    }

    /// The value of busctl's `s "text"` answer.
    static func busctlString(_ output: String) -> String? {
        let line = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("s \""), line.hasSuffix("\""), line.count >= 4 else { return nil }
        return String(line.dropFirst(3).dropLast())
    }

    /// The unit's state and the daemon's log, for failure messages.
    func seen() -> String {
        let state = (try? systemd.unitState().description) ?? "(systemctl failed)"
        return "\(state)\ndaemon log:\n\(systemd.daemonLog.suffix(2000))"
    }

    // MARK: Tests

    @Test func aFirstBusctlCallActivatesTheUnitThroughSystemd() async throws {
        try await bringToInactive()
        #expect(try systemd.busNameOwnerPID() == nil, "nobody owns the name before activation")

        let version = try systemd.busctl(["get-property", UserManager.busName, Self.root, Self.manager, "Version"])
        #expect(version.status == 0, "activation by busctl: \(version.standardError)\n\(seen())")
        #expect(Self.busctlString(version.standardOutput)?.isEmpty == false, "Version: \(version.standardOutput)")

        // The name can be taken a moment before READY=1 reaches systemd; active means it did.
        let state = try await eventually("activated peercollab.service reaching active (running)", lastSeen: { self.seen() }) {
            let state = try systemd.unitState()
            return state.isRunning ? state : nil
        }
        #expect(state.statusText == Self.status)
        // SystemdService= in the activation file: systemd started it, not dbus-daemon on its own.
        #expect(try systemd.busNameOwnerPID() == state.mainPID, "the name's owner is the unit's main process")
    }

    @Test func startReachesActiveOnReadinessAndKeepsSettingsInTheConfigHome() async throws {
        try await bringToInactive()
        let start = try systemd.systemctl(["start", UserManager.unit])
        try #require(start.status == 0, "systemctl --user start: \(start.standardError)\n\(seen())")
        // Type=notify: the start job ends only once READY=1 arrived, so no waiting here.
        let state = try systemd.unitState()
        #expect(state.isRunning, "right after start: \(state)")
        #expect(state.statusText == Self.status)

        let name = "Unit Tester \(getpid())"
        let set = try systemd.busctl(["set-property", UserManager.busName, Self.root, Self.manager, "DisplayName", "s", name])
        #expect(set.status == 0, "set-property: \(set.standardError)")
        let data = try Data(contentsOf: systemd.settingsURL)
        let settings = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        #expect(settings?["displayName"] as? String == name, "settings.json: \(String(decoding: data, as: UTF8.self))")
        #expect(try displayName() == name)
    }

    @Test func reloadRereadsTheSettingsInTheSameProcess() async throws {
        let before = try await bringToRunning()
        let logStart = systemd.daemonLogLength
        let edited = "Edited by hand \(getpid())"
        try FileManager.default.createDirectory(
            at: systemd.settingsURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        try #"{ "displayName" : "\#(edited)" }"#.write(to: systemd.settingsURL, atomically: true, encoding: .utf8)

        let reload = try systemd.systemctl(["reload", UserManager.unit])
        #expect(reload.status == 0, "systemctl --user reload: \(reload.standardError)")
        // ExecReload= is `kill -HUP`: the job ends when the signal is sent, the reading comes after.
        _ = try await eventually("DisplayName \"\(edited)\" after reload", lastSeen: { "DisplayName \(((try? self.displayName()) ?? nil) ?? "unreadable")\n\(self.seen())" }) {
            try displayName() == edited ? true : nil
        }
        _ = try await eventually("\"Reloaded the settings\" in the daemon log", lastSeen: { self.systemd.daemonLog(since: logStart) }) {
            systemd.daemonLog(since: logStart).contains("Reloaded the settings") ? true : nil
        }
        let after = try await eventually("peercollab.service back to active (running) after reload", lastSeen: { self.seen() }) {
            let state = try systemd.unitState()
            return state.isRunning ? state : nil
        }
        #expect(after.mainPID == before.mainPID, "reload keeps the process")
        #expect(after.statusText == Self.status)
    }

    @Test func aKilledDaemonIsRestartedAndOwnsTheNameAgain() async throws {
        let before = try await bringToRunning()
        #expect(kill(before.mainPID, SIGKILL) == 0)

        let after = try await eventually("peercollab.service restarted with a new main process after kill -9", lastSeen: { self.seen() }) {
            let state = try systemd.unitState()
            return state.isRunning && state.mainPID != before.mainPID ? state : nil
        }
        #expect(after.restarts >= 1, "NRestarts after a crash: \(after)")
        #expect(after.statusText == Self.status)
        _ = try await eventually("the restarted daemon (PID \(after.mainPID)) owning the bus name", lastSeen: { self.seen() }) {
            try systemd.busNameOwnerPID() == after.mainPID ? true : nil
        }
    }

    @Test func stopEndsTheDaemonCleanlyAndReleasesTheName() async throws {
        let before = try await bringToRunning()
        let logStart = systemd.daemonLogLength

        let stop = try systemd.systemctl(["stop", UserManager.unit])
        #expect(stop.status == 0, "systemctl --user stop: \(stop.standardError)")
        // The stop job ends once the main process is gone.
        let state = try systemd.unitState()
        #expect(state.isInactive, "right after stop: \(state)")
        #expect(state.result == "success", "a SIGTERM stop is no failure: \(state)")
        #expect(state.properties["ExecMainStatus"] == "0", "exit status after SIGTERM: \(state)")
        #expect(!ProcessTree.isAlive(before.mainPID))
        _ = try await eventually("the bus name without an owner after stop", lastSeen: { self.seen() }) {
            try systemd.busNameOwnerPID() == nil ? true : nil
        }
        #expect(systemd.daemonLog(since: logStart).contains("Stopping: releasing the bus name"), "\(systemd.daemonLog(since: logStart))")
    }

    @Test func theWatchdogIsFedSoTheDaemonOutlivesItsTimeout() async throws {
        let installed = try await bringToRunning()
        #expect(installed.properties["WatchdogUSec"] == "30s", "WatchdogSec of the installed unit: \(installed)")

        // 30 s is too long to wait for; with 2 s the daemon pings every second, and a missed
        // ping would end in SIGABRT and a restart within the 5 s watched below.
        try await bringToInactive()
        try systemd.setDropIn("watchdog.conf", "[Service]\nWatchdogSec=2s\n")
        do {
            let start = try await bringToRunning()
            #expect(start.properties["WatchdogUSec"] == "2s", "WatchdogSec with the drop-in: \(start)")
            let watchedUntil = ContinuousClock.now + .seconds(5)
            var pings = Set<String>()
            while ContinuousClock.now < watchedUntil {
                let state = try systemd.unitState()
                try #require(
                    state.isRunning && state.mainPID == start.mainPID,
                    "the daemon stays up past its watchdog timeout: \(seen())")
                if let stamp = state.properties["WatchdogTimestampMonotonic"] { pings.insert(stamp) }
                try await Task.sleep(for: .milliseconds(200))
            }
            // The start sets the timestamp once; each ping that arrives moves it.
            #expect(pings.count >= 3, "watchdog timestamps seen: \(pings.sorted())")
            #expect(try systemd.unitState().restarts == 0)
        } catch {
            try? systemd.setDropIn("watchdog.conf", nil)
            throw error
        }
        try await bringToInactive()
        try systemd.setDropIn("watchdog.conf", nil)
    }

    @Test func theHardeningIsInForceAndDoesNotStopTheDaemon() async throws {
        let state = try await bringToRunning()
        let status = try String(contentsOfFile: "/proc/\(state.mainPID)/status", encoding: .utf8)
        let fields = Dictionary(
            status.split(separator: "\n").compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }, uniquingKeysWith: { first, _ in first })
        #expect(fields["NoNewPrivs"] == "1", "NoNewPrivileges=yes")
        #expect(fields["Seccomp"] == "2", "SystemCallFilter= installs a seccomp filter")
        #expect(fields["Umask"] == "0077", "UMask=0077")
        #expect(try displayName() != nil, "the hardened daemon answers on the bus")

        // Recorded, not asserted: the score depends on systemd's version.
        let analysis = try systemd.analyzeSecurity()
        if let line = analysis.split(separator: "\n").last(where: { $0.contains("Overall exposure level") }) {
            print("systemd-analyze --user security: \(line)")
        }
    }
}
