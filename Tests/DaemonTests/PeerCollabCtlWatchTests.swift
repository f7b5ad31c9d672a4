import DBus
import Foundation
import PeerCollabAPI
import Testing
import TestSupport

/// `peercollabctl watch`: quiet by default, everything with --all, and its end when the daemon
/// stops (or, with --follow, the daemon's return).
@Suite struct PeerCollabCtlWatchTests {
    @Test func watchEndsWithSixtyNineWhenTheDaemonStops() async throws {
        let host = try await CtlHost()
        let watch = try Subprocess(ProcessRunner.ctlPath, ["watch", "--bus", host.bus.address], captureOutput: true)
        defer { watch.signal(SIGKILL) }
        // Subscribed once a change shows (a bounded few tries: it may not be subscribed yet).
        var seen = ""
        for attempt in 0..<100 where !seen.contains("Watcher") {
            _ = try await host.ctl(["set-name", "Watcher \(attempt)"])
            seen += watch.readStandardOutput(until: .now + .milliseconds(200)) { $0.contains("Watcher") }
        }
        #expect(seen.contains("~ /org/peercollab/PeerCollab1 DisplayName=Watcher"), "\(seen)")
        host.daemon.signal(SIGTERM)
        _ = try await host.daemon.waitForExit()
        let (_, error) = watch.readOutputs(until: .now + .seconds(20))
        // Its output closed because it exited, or the deadline passed and it still runs.
        try #require(!watch.isRunning, "watch did not exit within 20 s of the daemon's stop")
        #expect(watch.wait() == 69)
        #expect(error.contains("peercollabd stopped"), "\(error)")
    }

    @Test func watchFollowWaitsForTheDaemonToComeBack() async throws {
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        let first = try DaemonProcess(bus: bus)
        try await first.waitUntilServing(client)
        let watch = try Subprocess(ProcessRunner.ctlPath, ["watch", "--follow", "--json", "--bus", bus.address], captureOutput: true)
        defer { watch.signal(SIGKILL) }
        var seen = ""
        for attempt in 0..<100 where !seen.contains("Watcher") {
            _ = try await ProcessRunner.run(ProcessRunner.ctlPath, ["set-name", "Watcher \(attempt)", "--bus", bus.address])
            seen += watch.readStandardOutput(until: .now + .milliseconds(200)) { $0.contains("Watcher") }
        }
        first.signal(SIGTERM)
        _ = try await first.waitForExit()
        seen += watch.readStandardOutput(until: .now + .seconds(20)) { $0.contains(#""event":"stopped""#) }
        #expect(seen.contains(#"{"event":"stopped","path":"/org/peercollab/PeerCollab1"}"#), "\(seen)")
        #expect(watch.isRunning)
        let second = try DaemonProcess(bus: bus, home: first.home)
        try await second.waitUntilServing(client)
        seen += watch.readStandardOutput(until: .now + .seconds(20)) { $0.contains(#""event":"started""#) }
        #expect(seen.contains(#"{"event":"started","path":"/org/peercollab/PeerCollab1"}"#), "\(seen)")
        // And it goes on showing changes.
        _ = try await ProcessRunner.run(ProcessRunner.ctlPath, ["set-email", "back@example.org", "--bus", bus.address])
        seen += watch.readStandardOutput(until: .now + .seconds(20)) { $0.contains("back@example.org") }
        #expect(seen.contains(#""Email":"back@example.org""#), "\(seen)")
        second.signal(SIGTERM)
        _ = try await second.waitForExit()
    }

    /// Keepalives move LastSeen every second here (--peer-timeout 3): --all shows those
    /// changes, the default does not, while both show the peer's rename.
    @Test func lastSeenAloneIsShownOnlyWithAll() async throws {
        let a = try await CtlHost(extraArguments: ["--peer-timeout", "3"])
        let b = try await CtlHost(name: "Bob Babbage", extraArguments: ["--peer-timeout", "3"])
        let quiet = try Subprocess(ProcessRunner.ctlPath, ["watch", "--bus", a.bus.address], captureOutput: true)
        let everything = try Subprocess(ProcessRunner.ctlPath, ["watch", "--all", "--json", "--bus", a.bus.address], captureOutput: true)
        defer {
            quiet.signal(SIGKILL)
            everything.signal(SIGKILL)
        }
        var quietLines = ""
        var allLines = ""
        for attempt in 0..<100 where !(quietLines.contains("Watcher") && allLines.contains("Watcher")) {
            _ = try await a.ctl(["set-name", "Watcher \(attempt)"])
            quietLines += quiet.readStandardOutput(until: .now + .milliseconds(200)) { $0.contains("Watcher") }
            allLines += everything.readStandardOutput(until: .now + .milliseconds(200)) { $0.contains("Watcher") }
        }
        let peer = try await a.connect(to: b)
        allLines += everything.readStandardOutput(until: .now + .seconds(20)) { $0.contains(#""LastSeen":"#) && $0.contains(#""event":"changed""#) }
        #expect(allLines.contains(#"{"event":"changed","path":"\#(peer.rawValue)","interface":"org.peercollab.PeerCollab1.Peer","LastSeen":"#), "\(allLines)")
        try await b.setName("Bob B.")
        quietLines += quiet.readStandardOutput(until: .now + .seconds(20)) { $0.contains("DisplayName=Bob B.") }
        #expect(quietLines.contains("+ \(peer.rawValue)"), "\(quietLines)")
        #expect(quietLines.contains("DisplayName=Bob Babbage"), "the peer arrives named: \(quietLines)")
        #expect(quietLines.contains("~ \(peer.rawValue) DisplayName=Bob B."), "\(quietLines)")
        #expect(!quietLines.contains("LastSeen"), "\(quietLines)")
    }
}
