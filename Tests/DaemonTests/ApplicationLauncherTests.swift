import DBus
import Foundation
import Logging
import Testing

@testable import peercollabd
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A folder with the probe application: a shell script that writes what it was started with
/// (PEERCOLLAB_INVITATION, argv, working folder, session and PID) to the file named by its
/// first argument, then stays until that file's `.release` appears (bounded), so a test can
/// look at it while it runs.
struct LaunchScratch {
    let root: URL
    let script: String

    init() throws {
        var template = Array("/tmp/pc-launch.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw TestFailure("mkdtemp failed") }
        root = URL(fileURLWithPath: String(cString: made))
        for folder in ["home", "data/applications", "bin"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        script = root.appendingPathComponent("bin/probe-app").path
        try Self.writeExecutable(script, """
            #!/bin/sh
            out="$1"
            {
              printf 'invitation=%s\\n' "$PEERCOLLAB_INVITATION"
              for a in "$@"; do printf 'arg=%s\\n' "$a"; done
              printf 'pwd=%s\\n' "$(pwd)"
              printf 'pid=%s\\n' "$$"
              printf 'sid=%s\\n' "$(cut -d' ' -f6 /proc/$$/stat)"
              printf 'extra=%s\\n' "$PEERCOLLAB_TEST_EXTRA"
              printf 'notify=%s\\n' "$NOTIFY_SOCKET"
            } > "$out.tmp"
            mv "$out.tmp" "$out"
            i=0
            while [ ! -e "$out.release" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
            """)
    }

    static func writeExecutable(_ path: String, _ text: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    /// The environment the launcher reads: PATH with our bin folder, a home and XDG folders of
    /// our own, so nothing of the real home is read.
    var environment: [String: String] {
        [
            "PATH": root.appendingPathComponent("bin").path + ":/usr/bin:/bin",
            "HOME": root.appendingPathComponent("home").path,
            "XDG_DATA_HOME": root.appendingPathComponent("data").path,
            "XDG_DATA_DIRS": root.appendingPathComponent("no-system-data").path,
        ]
    }

    func output(_ name: String) -> String { root.appendingPathComponent(name).path }

    /// What the probe wrote, once it has written it.
    func report(_ name: String) async throws -> [String: [String]] {
        try await eventually("the probe application writing \(output(name))") { () -> [String: [String]]? in
            guard let text = try? String(contentsOfFile: output(name), encoding: .utf8) else { return nil }
            var fields: [String: [String]] = [:]
            for line in text.split(separator: "\n") {
                guard let equals = line.firstIndex(of: "=") else { continue }
                fields[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
            }
            return fields
        }
    }

    func release(_ name: String) {
        _ = FileManager.default.createFile(atPath: output(name) + ".release", contents: nil)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}

/// The launcher under a real `systemd --user`: the application runs in a transient unit of
/// its own, systemd's job result decides success, and failures say what went wrong.
@Suite(
    .serialized, .userManager,
    .enabled(if: UserManager.unavailableReason == nil, "needs /lib/systemd/systemd, dbus-user-session and root"))
struct ApplicationLauncherSystemdTests {
    static let invitation = "/org/peercollab/PeerCollab1/invitation/i7"
    let systemd: UserManager

    init() throws {
        systemd = try #require(UserManager.current, "the suite runs inside its user manager")
    }

    /// A launcher on the manager's bus, once systemd has taken its name there.
    func withLauncher(_ body: (ApplicationLauncher, LaunchScratch) async throws -> Void) async throws {
        let connection = try DBusConnection(bus: .address(systemd.busAddress))
        defer { connection.close() }
        _ = try await eventually("org.freedesktop.systemd1 on the manager's bus") {
            try await connection.nameOwner("org.freedesktop.systemd1")
        }
        let scratch = try LaunchScratch()
        defer { scratch.remove() }
        try await body(ApplicationLauncher(connection: connection, environment: scratch.environment, logger: Logger(label: "test")), scratch)
    }

    func unitProperties(_ unit: String, _ names: [String]) throws -> [String: String] {
        let output = try systemd.systemctl(["show", unit] + names.flatMap { ["-p", $0] })
        var properties: [String: String] = [:]
        for line in output.standardOutput.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            properties[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return properties
    }

    @Test func anExecCommandRunsInATransientUnitWithTheInvitationPath() async throws {
        try await withLauncher { launcher, scratch in
            let request = ApplicationLaunchRequest(
                applicationID: "org.example.White-board", command: .exec(["probe-app", scratch.output("exec"), "two words"]),
                invitationPath: Self.invitation, environment: ["PEERCOLLAB_TEST_EXTRA": "yes", "BAD NAME": "dropped"])
            let launched = try await launcher.launch(request)
            guard case .unit(let unit) = launched else {
                Issue.record("expected a systemd unit, got \(launched)")
                return
            }
            #expect(unit.hasPrefix(#"app-peercollab-org.example.White\x2dboard@"#) && unit.hasSuffix(".service"), "\(unit)")

            let report = try await scratch.report("exec")
            #expect(report["invitation"] == [Self.invitation])
            #expect(report["arg"] == [scratch.output("exec"), "two words"])
            #expect(report["extra"] == ["yes"])
            #expect(report["pwd"] == [systemd.root.appendingPathComponent("home").path], "the manager's home")

            let properties = try unitProperties(unit, ["ActiveState", "Type", "Environment", "Slice", "MainPID", "CollectMode"])
            #expect(properties["ActiveState"] == "active", "\(properties)")
            #expect(properties["Type"] == "exec")
            #expect(properties["Slice"] == "app.slice")
            #expect(properties["CollectMode"] == "inactive-or-failed")
            #expect(properties["Environment"]?.contains("PEERCOLLAB_INVITATION=\(Self.invitation)") == true, "\(properties)")
            #expect(properties["MainPID"] == report["pid"]?.first, "the probe is the unit's main process")

            scratch.release("exec")
            _ = try await eventually("\(unit) collected after the application ended") {
                try unitProperties(unit, ["LoadState"])["LoadState"] == "not-found" ? true : nil
            }
        }
    }

    @Test func launchesAtTheSameTimeEachGetTheirOwnUnit() async throws {
        try await withLauncher { launcher, scratch in
            func start(_ name: String) async throws -> LaunchedApplication {
                try await launcher.launch(ApplicationLaunchRequest(
                    applicationID: "org.example.Whiteboard", command: .exec(["probe-app", scratch.output(name)]),
                    invitationPath: Self.invitation))
            }
            async let first = start("one")
            async let second = start("two")
            let launched = try await [first, second]
            #expect(Set(launched).count == 2, "\(launched)")
            for name in ["one", "two"] {
                #expect(try await scratch.report(name)["invitation"] == [Self.invitation])
                scratch.release(name)
            }
        }
    }

    @Test func aDesktopIDRunsItsExecLineFromTheXDGDataHome() async throws {
        try await withLauncher { launcher, scratch in
            let entry = scratch.root.appendingPathComponent("data/applications/org.example.Whiteboard.desktop").path
            try """
                [Desktop Entry]
                Type=Application
                Name=White Board
                Exec=probe-app "\(scratch.output("desktop"))" --join %U "quoted arg"
                """.write(toFile: entry, atomically: true, encoding: .utf8)
            let launched = try await launcher.launch(ApplicationLaunchRequest(
                applicationID: "org.example.Whiteboard", command: .desktopID("org.example.Whiteboard.desktop"),
                invitationPath: Self.invitation))
            guard case .unit = launched else {
                Issue.record("expected a systemd unit, got \(launched)")
                return
            }
            let report = try await scratch.report("desktop")
            #expect(report["arg"] == [scratch.output("desktop"), "--join", "quoted arg"])
            #expect(report["invitation"] == [Self.invitation])
            scratch.release("desktop")
        }
    }

    @Test func aMissingProgramOrDesktopFileIsALaunchErrorNamingIt() async throws {
        try await withLauncher { launcher, _ in
            let absent = try await #require(throws: LaunchError.self) {
                try await launcher.launch(ApplicationLaunchRequest(
                    applicationID: "org.example.Foo", command: .exec(["/usr/bin/peercollab-no-such-program"]),
                    invitationPath: Self.invitation))
            }
            #expect(absent.code == .programNotFound)
            #expect(absent.message == "org.example.Foo: /usr/bin/peercollab-no-such-program: no such file")

            let notOnPath = try await #require(throws: LaunchError.self) {
                try await launcher.launch(ApplicationLaunchRequest(
                    applicationID: "org.example.Foo", command: .exec(["peercollab-no-such-program"]), invitationPath: Self.invitation))
            }
            #expect(notOnPath.code == .programNotFound)
            #expect(notOnPath.message.contains("not found on PATH"))

            let noEntry = try await #require(throws: LaunchError.self) {
                try await launcher.launch(ApplicationLaunchRequest(
                    applicationID: "org.example.Foo", command: .desktopID("org.example.Foo.desktop"), invitationPath: Self.invitation))
            }
            #expect(noEntry.code == .desktopEntryNotFound)
            #expect(noEntry.message.contains("org.example.Foo.desktop"))
        }
    }

    @Test func anExecThatFailsUnderSystemdFailsTheJobAndSaysWhy() async throws {
        try await withLauncher { launcher, scratch in
            let broken = scratch.root.appendingPathComponent("bin/broken-app").path
            try LaunchScratch.writeExecutable(broken, "#!/nonexistent/interpreter\n")
            let error = try await #require(throws: LaunchError.self) {
                try await launcher.launch(ApplicationLaunchRequest(
                    applicationID: "org.example.Broken", command: .exec([broken]), invitationPath: Self.invitation))
            }
            #expect(error.code == .startFailed, "\(error)")
            #expect(error.message.hasPrefix("org.example.Broken: systemd could not start \(broken) (job failed"), "\(error)")
            #expect(error.message.contains("203/EXEC"), "the reason from the unit's exit status: \(error)")
        }
    }
}

/// The launcher where no systemd user manager is on the bus: a direct child in a session of
/// its own, reaped by the daemon.
@Suite(.serialized) struct ApplicationLauncherDirectTests {
    static let invitation = "/org/peercollab/PeerCollab1/invitation/d1"

    func withLauncher(_ body: (ApplicationLauncher, LaunchScratch) async throws -> Void) async throws {
        let bus = try PrivateBus()
        defer { bus.stop() }
        let connection = try DBusConnection(bus: .address(bus.address))
        defer { connection.close() }
        let scratch = try LaunchScratch()
        defer { scratch.remove() }
        // As if the daemon ran as a systemd service on a bus without a user manager.
        let environment = scratch.environment.merging(["NOTIFY_SOCKET": "/run/user/0/systemd/notify"]) { $1 }
        try await body(ApplicationLauncher(connection: connection, environment: environment, logger: Logger(label: "test")), scratch)
    }

    @Test func withoutAUserManagerTheApplicationIsSpawnedInItsOwnSessionAndReaped() async throws {
        try await withLauncher { launcher, scratch in
            let launched = try await launcher.launch(ApplicationLaunchRequest(
                applicationID: "org.example.Whiteboard", command: .exec(["probe-app", scratch.output("direct"), "x y"]),
                invitationPath: Self.invitation, environment: ["PEERCOLLAB_TEST_EXTRA": "direct"]))
            guard case .process(let pid) = launched else {
                Issue.record("expected a direct child, got \(launched)")
                return
            }
            let report = try await scratch.report("direct")
            #expect(report["invitation"] == [Self.invitation])
            #expect(report["arg"] == [scratch.output("direct"), "x y"])
            #expect(report["extra"] == ["direct"])
            #expect(report["notify"] == [""], "the daemon's NOTIFY_SOCKET is not the application's")
            #expect(report["pid"] == ["\(pid)"])
            #expect(report["sid"] == ["\(pid)"], "a session of its own (setsid)")
            #expect(report["pwd"] == [scratch.root.appendingPathComponent("home").path], "started in HOME")
            let stdin = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/0")
            #expect(stdin == "/dev/null")
            // Beyond 0-2 the shell holds only its script open (dash keeps it at fd 10).
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            let leaked = descriptors.filter { Int($0).map { $0 > 2 } ?? true }.compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")
            }.filter { $0 != scratch.script }
            #expect(leaked.isEmpty, "no descriptor of ours leaks into the application: \(leaked)")

            scratch.release("direct")
            // Reaped: the PID's /proc entry goes away; a zombie would keep it (state Z).
            _ = try await eventually("the ended application reaped, /proc/\(pid) gone", lastSeen: {
                (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "gone"
            }) {
                FileManager.default.fileExists(atPath: "/proc/\(pid)") ? nil : true
            }
        }
    }

    @Test func anExecFailureOfADirectSpawnIsALaunchError() async throws {
        try await withLauncher { launcher, scratch in
            let broken = scratch.root.appendingPathComponent("bin/broken-app").path
            try LaunchScratch.writeExecutable(broken, "#!/nonexistent/interpreter\n")
            let error = try await #require(throws: LaunchError.self) {
                try await launcher.launch(ApplicationLaunchRequest(
                    applicationID: "org.example.Broken", command: .exec([broken]), invitationPath: Self.invitation))
            }
            #expect(error.code == .startFailed)
            #expect(error.message == "org.example.Broken: \(broken): No such file or directory")
        }
    }

    @Test func badRequestsAreRefusedBeforeAnythingStarts() async throws {
        try await withLauncher { launcher, _ in
            for (request, code) in [
                (ApplicationLaunchRequest(applicationID: "", command: .exec(["/bin/true"]), invitationPath: "/"), LaunchError.Code.invalidRequest),
                (ApplicationLaunchRequest(applicationID: "org.example.A", command: .exec([]), invitationPath: "/"), .invalidRequest),
                (ApplicationLaunchRequest(applicationID: "org.example.A", command: .exec(["bin/true"]), invitationPath: "/"), .invalidRequest),
                (ApplicationLaunchRequest(applicationID: "org.example.A", command: .desktopID("../../x.desktop"), invitationPath: "/"), .invalidRequest),
                (ApplicationLaunchRequest(applicationID: "org.example.A", command: .exec(["/bin/true", "a\0b"]), invitationPath: "/"), .invalidRequest),
            ] {
                let error = try await #require(throws: LaunchError.self, "\(request)") { try await launcher.launch(request) }
                #expect(error.code == code, "\(error)")
            }
        }
    }
}
