import Foundation

/// Hosts of our own for one test: network namespaces joined by a bridge (in a namespace of
/// its own), with IPv4 192.0.2.N/24 and IPv6 2001:db8::N/64. Nothing leaves them; everything
/// is removed when the lab ends, also when the test fails.
final class NetworkLab: Sendable {
    let hosts: [String]
    let bridge: String
    static let ip = "/usr/sbin/ip"

    init(hosts count: Int) throws {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        bridge = "pcbr\(tag)"
        hosts = (0..<count).map { "pc\(tag)h\($0)" }
        do {
            try Self.ip(["netns", "add", bridge])
            try Self.ip(["-n", bridge, "link", "add", "br0", "type", "bridge"])
            try Self.ip(["-n", bridge, "link", "set", "br0", "up"])
            for (index, host) in hosts.enumerated() {
                try Self.ip(["netns", "add", host])
                try Self.ip(["-n", host, "link", "set", "lo", "up"])
                try Self.ip(["-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", "p\(index)", "netns", bridge])
                try Self.ip(["-n", bridge, "link", "set", "p\(index)", "master", "br0"])
                try Self.ip(["-n", bridge, "link", "set", "p\(index)", "up"])
                try Self.ip(["-n", host, "addr", "add", "\(ipv4(index))/24", "dev", "eth0"])
                try Self.ip(["-n", host, "addr", "add", "\(ipv6(index))/64", "dev", "eth0", "nodad"])
                try Self.ip(["-n", host, "link", "set", "eth0", "up"])
            }
        } catch {
            tearDown()
            throw error
        }
    }

    func ipv4(_ host: Int) -> String { "192.0.2.\(host + 1)" }
    func ipv6(_ host: Int) -> String { "2001:db8::\(host + 1)" }

    /// Runs a program inside a host's namespace.
    @discardableResult
    func run(on host: Int, _ executable: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws
        -> ProcessRunner.Output
    {
        try await ProcessRunner.run(Self.ip, ["netns", "exec", hosts[host], executable] + arguments, timeout: timeout)
    }

    /// The command prefix that puts a program into a host's namespace.
    func prefix(_ host: Int) -> [String] { [Self.ip, "netns", "exec", hosts[host]] }

    @discardableResult
    static func ip(_ arguments: [String]) throws -> ProcessRunner.Output {
        let output = try ProcessRunner.run(ip, arguments)
        guard output.status == 0 else {
            throw TestFailure("ip \(arguments.joined(separator: " ")) failed: \(output.standardError)")
        }
        return output
    }

    private func tearDown() {
        for namespace in hosts + [bridge] {
            if let pids = try? ProcessRunner.run(Self.ip, ["netns", "pids", namespace]) {
                for pid in pids.standardOutput.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            _ = try? ProcessRunner.run(Self.ip, ["netns", "del", namespace])
        }
    }

    deinit { tearDown() }

    /// Whether this machine lets us make namespaces (root with iproute2).
    static var isAvailable: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: ip)
    }
}
