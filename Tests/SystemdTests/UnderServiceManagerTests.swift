import Logging
import Systemd
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Talks to a real systemd user manager; runs only when a unit started the test process:
///
/// ```sh
/// systemd-run --user --wait --unit=peercollab-systemd-test -p Type=notify -p WatchdogSec=2 \
///     --setenv=PEERCOLLAB_TEST_UNIT=peercollab-systemd-test.service \
///     .build/debug/peercollabPackageTests.xctest --testing-library swift-testing \
///     --filter UnderServiceManagerTests
/// ```
///
/// A watchdog that stopped pinging would get the process killed, so `--wait` failing is a
/// failure too.
@Suite(.enabled(if: testUnit != nil, "not started by a systemd unit"))
struct UnderServiceManagerTests {
    @Test(.timeLimit(.minutes(1)))
    func theManagerSeesReadinessReloadStatusAndWatchdog() async throws {
        let unit = try #require(testUnit)
        #expect(SystemdNotifier.isUnderSystemd)
        let watchdog = try #require(Watchdog())
        let pinging = Task { await watchdog.run() }
        defer { pinging.cancel() }

        #expect(try SystemdNotifier.ready(status: "Starting the live test"))
        #expect(await managerReports(unit, ["ActiveState=active", "StatusText=Starting the live test"]))
        #expect(try SystemdNotifier.reloading())
        #expect(await managerReports(unit, ["ActiveState=reloading"]))
        #expect(try SystemdNotifier.ready(status: "Reloaded"))
        #expect(await managerReports(unit, ["ActiveState=active", "StatusText=Reloaded"]))

        // Three watchdog timeouts: without pings the manager would kill us here.
        try await Task.sleep(for: watchdog.interval * 3)
        #expect(await managerReports(unit, ["ActiveState=active"]))
        #expect(try SystemdNotifier.stopping())
        #expect(await managerReports(unit, ["ActiveState=deactivating"]))
    }
}

let testUnit = getenv("PEERCOLLAB_TEST_UNIT").map { String(cString: $0) }

/// Polls `systemctl --user show` until every `expected` line appears; at most 50 times, 100 ms apart.
func managerReports(_ unit: String, _ expected: [String]) async -> Bool {
    for _ in 0..<50 {
        let shown = run(["/usr/bin/systemctl", "--user", "show", "-p", "ActiveState", "-p", "StatusText", unit])
        let lines = shown.split(separator: "\n").map(String.init)
        if expected.allSatisfy(lines.contains) { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return false
}

/// The standard output of a program, empty when it cannot start.
func run(_ arguments: [String]) -> String {
    var pipeEnds: [Int32] = [0, 0]
    guard pipe(&pipeEnds) == 0 else { return "" }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], STDOUT_FILENO)
    posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
    var argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
    close(pipeEnds[1])
    defer { close(pipeEnds[0]) }
    guard spawned == 0 else { return "" }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
        if count <= 0 { break }
        output += chunk[..<count]
    }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    return String(decoding: output, as: UTF8.self)
}
