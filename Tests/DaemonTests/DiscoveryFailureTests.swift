import DBus
import Foundation
import Testing
import TestSupport

/// Signed in near me while discovery cannot start: SignIn succeeds (I am still reachable by
/// link and over the internet scope), and Diagnose says that near me does not work and why.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct DiscoveryFailureTests {
    @Test func udp5353HeldByAnotherProgramIsNamedByDiagnose() async throws {
        let lab = try NetworkLab(hosts: 1)
        try await lab.withLogs {
            // Another program holds UDP 5353 without sharing it (no SO_REUSEADDR/PORT); bounded: 120 s.
            let script = """
                import socket, time
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("0.0.0.0", 5353))
                print("holding", flush=True)
                time.sleep(120)
                """
            let command = lab.prefix(0) + ["/usr/bin/env", "python3", "-u", "-c", script]
            let holder = try Subprocess(command[0], Array(command.dropFirst()), captureOutput: true)
            defer { holder.signal(SIGKILL) }
            #expect(holder.readStandardOutput(until: .now + .seconds(10)) { $0.contains("holding") }.contains("holding"))

            let daemon = try await LabDaemon(lab: lab, host: 0, signIn: "near-me", discovery: "builtin")
            #expect(try await daemon.manager("SignedIn").stringArrayValue == ["near-me"])
            let report = try await AutoDiscoveryLabTests.checks(daemon)
            let nearMe = try #require(report.checks["near me"], "\(report.checks.keys.sorted())")
            #expect(!nearMe.ok)
            #expect(nearMe.detail.contains("discovery could not start"), "\(nearMe.detail)")
            #expect(report.checks["mDNS sockets"]?.ok == false, "\(report.checks)")

            // Once the port is free, the next Diagnose starts discovery and near me works.
            holder.signal(SIGKILL)
            _ = holder.wait()
            let after = try await AutoDiscoveryLabTests.checks(daemon)
            #expect(after.checks["near me"] == nil, "\(after.checks["near me"].map { "\($0)" } ?? "")")
            #expect(daemon.daemon.log.contains("Announcing and looking for peers near me"), "\(daemon.daemon.log.suffix(3000))")
        }
    }

    @Test func avahiChosenButAbsentIsNamedByDiagnose() async throws {
        let lab = try NetworkLab(hosts: 1)
        try await lab.withLogs {
            // A system bus of its own, with no avahi-daemon on it.
            let systemBus = try PrivateBus()
            let daemon = try await LabDaemon(
                lab: lab, host: 0, signIn: "near-me", discovery: "avahi", extraArguments: ["--system-bus", systemBus.address])
            #expect(try await daemon.manager("SignedIn").stringArrayValue == ["near-me"])
            let report = try await AutoDiscoveryLabTests.checks(daemon)
            let nearMe = try #require(report.checks["near me"], "\(report.checks.keys.sorted())")
            #expect(!nearMe.ok)
            #expect(nearMe.detail.contains("discovery could not start"), "\(nearMe.detail)")
            #expect(report.checks["discovery backend"]?.ok == false, "\(report.checks)")
        }
    }
}
