import DBus
import Foundation
import Testing
import TestSupport

/// The `auto` backend and a real avahi-daemon that starts after the daemon: discovery moves
/// to Avahi, and the built-in responder no longer shares UDP 5353 with it. And `doctor`
/// says so when the built-in responder does share the port.
@Suite(.enabled(if: NetworkLab.isAvailable && avahiInstalled, "needs root, iproute2 and avahi-daemon"))
struct AutoDiscoveryLabTests {
    /// Diagnose's checks by subject: (ok, detail).
    static func checks(_ daemon: LabDaemon) async throws -> (backend: String, checks: [String: (ok: Bool, detail: String)]) {
        let report = try #require(try await daemon.managerCall("Diagnose").first?.vardictValue)
        var checks: [String: (ok: Bool, detail: String)] = [:]
        for entry in report["checks"]?.arrayElements ?? [] {
            guard let fields = entry.structureFields, fields.count == 4, let subject = fields[0].stringValue,
                let ok = fields[1].boolValue, let detail = fields[2].stringValue
            else { continue }
            checks[subject] = (ok, detail)
        }
        return (report["backend"]?.stringValue ?? "", checks)
    }

    /// Sockets bound to UDP 5353 in a host's namespace.
    static func socketsOn5353(_ lab: NetworkLab, _ host: Int) async throws -> Int {
        let output = try await lab.run(on: host, "/bin/cat", ["/proc/net/udp", "/proc/net/udp6"])
        return output.standardOutput.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 2 && fields[1].hasSuffix(":14E9")
        }.count
    }

    @Test func autoMovesToAvahiWhenAvahiDaemonStartsAfterIt() async throws {
        let lab = try NetworkLab(hosts: 2)
        let system = try await LabAvahi(lab: lab, host: 0, startingAvahi: false)
        let a = try await LabDaemon(
            lab: lab, host: 0, signIn: "near-me", discovery: "auto", extraArguments: ["--system-bus", system.busAddress])
        let b = try await LabDaemon(lab: lab, host: 1, signIn: "near-me", discovery: "builtin")
        let (nameA, nameB) = (try await a.peerName, try await b.peerName)
        _ = try await a.waitForPeers("A (built in for now) finds B") { $0.values.contains { $0["PeerName"]?.stringValue == nameB } }
        let before = try await Self.checks(a)
        #expect(before.backend == "builtin")
        #expect(before.checks["discovery backend"]?.detail.contains("moves to Avahi when avahi-daemon appears") == true, "\(before)")
        #expect(before.checks["UDP port 5353"]?.ok == true, "\(before)")
        #expect(try await Self.socketsOn5353(lab, 0) > 0)

        try await system.startAvahi()
        var after = try await Self.checks(a)
        for _ in 0..<100 where after.backend != "avahi" {
            try await Task.sleep(for: .milliseconds(100))
            after = try await Self.checks(a)
        }
        #expect(after.backend == "avahi", "\(after)")
        #expect(after.checks["discovery backend"]?.detail.contains("auto chose avahi") == true, "\(after)")
        #expect(a.daemon.log.contains("discovery moves to Avahi"), "\(a.daemon.log)")
        // Our responder is gone from port 5353: what is left there is avahi-daemon's (one
        // socket per family).
        #expect(try await Self.socketsOn5353(lab, 0) == 2)
        // Avahi announces us now: its own browser sees our announcement, B sees us again, and we
        // still see B through Avahi.
        try await eventually(within: .seconds(20), "avahi-browse in host 0 to list A's own announcement") {
            let browse = try? await system.run("avahi-browse", ["-rpt", "_peercollab._tcp"])
            return browse?.standardOutput.contains("pn=\(nameA)") == true ? true : nil
        }
        _ = try await b.waitForPeers("B sees A announced through Avahi", timeout: .seconds(30)) {
            $0.values.contains { $0["PeerName"]?.stringValue == nameA }
        }
        _ = try await a.waitForPeers("A sees B through Avahi", timeout: .seconds(30)) {
            $0.values.contains { $0["PeerName"]?.stringValue == nameB }
        }
        let settled = try await Self.checks(a)
        #expect(settled.checks.values.allSatisfy { $0.ok || $0.detail.contains("firewall") }, "\(settled)")

        // avahi-daemon stops and stays away: after the fallback delay (30 s) the built-in
        // responder takes over, and B sees A again through it.
        system.stopAvahi()
        var fallen = try await Self.checks(a)
        for _ in 0..<450 where fallen.backend != "builtin" {
            try await Task.sleep(for: .milliseconds(100))
            fallen = try await Self.checks(a)
        }
        #expect(fallen.backend == "builtin", "\(fallen)")
        #expect(fallen.checks["discovery backend"]?.detail.contains("avahi-daemon left the system bus") == true, "\(fallen)")
        #expect(try await Self.socketsOn5353(lab, 0) > 0)
        _ = try await b.waitForPeers("B sees A through the built-in responder again", timeout: .seconds(30)) {
            $0.values.contains { $0["PeerName"]?.stringValue == nameA }
        }
        // And back to Avahi when it returns.
        try await system.startAvahi()
        var back = try await Self.checks(a)
        for _ in 0..<100 where back.backend != "avahi" {
            try await Task.sleep(for: .milliseconds(100))
            back = try await Self.checks(a)
        }
        #expect(back.backend == "avahi", "\(back)")
        #expect(back.checks["discovery backend"]?.detail.contains("moved 3 time(s)") == true, "\(back)")
    }

    @Test func doctorSaysWhenTheBuiltInResponderSharesPort5353WithAvahi() async throws {
        let lab = try NetworkLab(hosts: 1)
        let system = try await LabAvahi(lab: lab, host: 0)
        let a = try await LabDaemon(
            lab: lab, host: 0, signIn: "near-me", discovery: "builtin", extraArguments: ["--system-bus", system.busAddress])
        let report = try await Self.checks(a)
        #expect(report.backend == "builtin")
        let port = try #require(report.checks["UDP port 5353"], "\(report)")
        #expect(!port.ok)
        #expect(port.detail.contains("another mDNS responder"), "\(port.detail)")
        let doctor = try await ProcessRunner.run(ProcessRunner.ctlPath, ["doctor", "--bus", a.bus.address])
        #expect(doctor.standardOutput.contains("another mDNS responder"), "\(doctor.standardOutput)")
        #expect(doctor.status != 0, "\(doctor.standardOutput)")
    }
}
