import DBus
import Foundation
import Testing
import TestSupport

/// When the default port is taken, the daemon picks a free one once and keeps it, so that
/// cards, links and firewall rules made since stay right; Diagnose says so.
@Suite(.enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct KeptPortTests {
    @Test func aTakenDefaultPortIsReplacedOnceAndTheChoiceKept() async throws {
        let lab = try NetworkLab(hosts: 1)
        try await lab.withLogs {
            // Something else holds 46773 in the host's namespace (bounded: 120 s).
            let script = """
                import socket, time
                s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                s.bind(("::", 46773)); s.listen(1)
                print("holding", flush=True)
                time.sleep(120)
                """
            let command = lab.prefix(0) + ["/usr/bin/env", "python3", "-u", "-c", script]
            let holder = try Subprocess(command[0], Array(command.dropFirst()), captureOutput: true)
            defer { holder.signal(SIGKILL) }
            #expect(holder.readStandardOutput(until: .now + .seconds(10)) { $0.contains("holding") }.contains("holding"))

            let daemon = try await LabDaemon(lab: lab, host: 0, signIn: nil, defaultPort: true)
            let first = try await daemon.port
            #expect(first != 46773)
            #expect(daemon.daemon.log.contains("Port 46773 is taken; listening on \(first) instead, from now on"), "\(daemon.daemon.log)")
            let chosen = try #require(try await AutoDiscoveryLabTests.checks(daemon).checks["port choice"])
            #expect(chosen.detail.contains("port \(first), chosen at this start because 46773 was taken"), "\(chosen.detail)")

            // Later starts keep it, also once the default is free again.
            try await daemon.restart()
            #expect(try await daemon.port == first)
            holder.signal(SIGKILL)
            _ = holder.wait()
            try await daemon.restart()
            #expect(try await daemon.port == first)
            let kept = try #require(try await AutoDiscoveryLabTests.checks(daemon).checks["port choice"])
            #expect(kept.detail.contains("port \(first), chosen at an earlier start when 46773 was taken"), "\(kept.detail)")
        }
    }
}
