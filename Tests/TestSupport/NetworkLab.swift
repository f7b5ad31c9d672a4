import Foundation
import Synchronization

/// Hosts of our own for one test: network namespaces, each with one interface `eth0`.
///
/// `NetworkLab(hosts: n)` puts them all on one link (a bridge in a namespace of its own) with
/// IPv4 192.0.2.N/24 and IPv6 2001:db8::N/64. `NetworkLab(subnets: [[0, 1], [2]])` puts hosts
/// 0 and 1 on one subnet and host 2 on another, joined by a router (the same namespace that
/// holds one bridge per subnet): subnet k gets ``Subnet/ipv4Prefix``.0/24 and 2001:db8:k+1::/64,
/// the router .1 and ::1 on it, its hosts .2, .3 … and a default route through the router. A
/// router forwards unicast but never link-local multicast, so mDNS stays on its subnet, as
/// between two homes on the internet. Nothing leaves the lab; everything is removed when it
/// ends, also when the test fails.
public final class NetworkLab: Sendable {
    /// One subnet of a routed lab.
    public struct Subnet: Sendable {
        /// The hosts on it, by index.
        public let hosts: [Int]
        /// The first three octets of its IPv4 addresses ("198.51.100").
        public let ipv4Prefix: String
        /// Its IPv6 prefix without the host part ("2001:db8:1:").
        public let ipv6Prefix: String
        /// The router's addresses on it (nil in a lab of one link without a router).
        public let routerIPv4: String?
        public let routerIPv6: String?
    }

    /// The namespace of each host, by index.
    public let hosts: [String]
    /// The namespace holding the bridges (and in a routed lab, routing between them).
    public let bridge: String
    public let subnets: [Subnet]
    /// Each host's subnet (an index into ``subnets``).
    public let subnetOfHost: [Int]
    private let addresses: [(ipv4: String, ipv6: String)]
    private let tornDown = Mutex(false)
    /// The log file of each daemon started in the lab, by host (see ``logs``).
    public let daemonLogs = Mutex<[(host: Int, log: URL)]>([])
    public static let ip = "/usr/sbin/ip"

    /// All hosts on one link, without a router (the lab most near-me tests want).
    public convenience init(hosts count: Int) throws {
        try self.init(layout: [Array(0..<count)], routed: false)
    }

    /// Hosts on several subnets joined by a router: `subnets[k]` lists the hosts on subnet k,
    /// and together they must name each of 0..<n once.
    public convenience init(subnets: [[Int]]) throws {
        try self.init(layout: subnets, routed: true)
    }

    private init(layout: [[Int]], routed: Bool) throws {
        let count = layout.reduce(0) { $0 + $1.count }
        guard layout.flatMap({ $0 }).sorted() == Array(0..<count), !layout.contains(where: \.isEmpty) else {
            throw TestFailure("a lab's subnets must name each host 0..<\(count) exactly once, and none may be empty: \(layout)")
        }
        guard layout.count <= Self.ipv4Prefixes.count else {
            throw TestFailure("a lab has at most \(Self.ipv4Prefixes.count) subnets")
        }
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        bridge = "pcbr\(tag)"
        hosts = (0..<count).map { "pc\(tag)h\($0)" }
        var subnetOfHost = [Int](repeating: 0, count: count)
        var addresses = [(ipv4: String, ipv6: String)](repeating: ("", ""), count: count)
        var subnets: [Subnet] = []
        for (k, members) in layout.enumerated() {
            // One link keeps the addresses tests have always used; routed subnets use the
            // documentation ranges, with .1 for the router.
            let v4 = routed ? Self.ipv4Prefixes[k] : "192.0.2"
            let v6 = routed ? "2001:db8:\(k + 1):" : "2001:db8:"
            subnets.append(Subnet(
                hosts: members, ipv4Prefix: v4, ipv6Prefix: v6,
                routerIPv4: routed ? "\(v4).1" : nil, routerIPv6: routed ? "\(v6):1" : nil))
            for (position, host) in members.enumerated() {
                subnetOfHost[host] = k
                let number = routed ? position + 2 : host + 1
                addresses[host] = ("\(v4).\(number)", "\(v6):\(number)")
            }
        }
        self.subnets = subnets
        self.subnetOfHost = subnetOfHost
        self.addresses = addresses
        do {
            try Self.ip(["netns", "add", bridge])
            try Self.ip(["-n", bridge, "link", "set", "lo", "up"])
            if routed {
                // Per namespace; all.forwarding also sets default for links made later.
                try Self.sysctl(bridge, ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.forwarding=1"])
            }
            for (k, subnet) in subnets.enumerated() {
                try Self.ip(["-n", bridge, "link", "add", "br\(k)", "type", "bridge"])
                if let v4 = subnet.routerIPv4, let v6 = subnet.routerIPv6 {
                    try Self.ip(["-n", bridge, "addr", "add", "\(v4)/24", "dev", "br\(k)"])
                    try Self.ip(["-n", bridge, "addr", "add", "\(v6)/64", "dev", "br\(k)", "nodad"])
                }
                try Self.ip(["-n", bridge, "link", "set", "br\(k)", "up"])
            }
            for (index, host) in hosts.enumerated() {
                let subnet = subnets[subnetOfHost[index]]
                try Self.ip(["netns", "add", host])
                try Self.ip(["-n", host, "link", "set", "lo", "up"])
                try Self.ip(["-n", host, "link", "add", "eth0", "type", "veth", "peer", "name", "p\(index)", "netns", bridge])
                try Self.ip(["-n", bridge, "link", "set", "p\(index)", "master", "br\(subnetOfHost[index])"])
                try Self.ip(["-n", bridge, "link", "set", "p\(index)", "up"])
                try Self.ip(["-n", host, "addr", "add", "\(ipv4(index))/24", "dev", "eth0"])
                try Self.ip(["-n", host, "addr", "add", "\(ipv6(index))/64", "dev", "eth0", "nodad"])
                try Self.ip(["-n", host, "link", "set", "eth0", "up"])
                if let v4 = subnet.routerIPv4, let v6 = subnet.routerIPv6 {
                    try Self.ip(["-n", host, "route", "add", "default", "via", v4])
                    try Self.ip(["-n", host, "-6", "route", "add", "default", "via", v6])
                }
            }
        } catch {
            tearDown()
            throw error
        }
    }

    /// TEST-NET-2, TEST-NET-3 and TEST-NET-1 (RFC 5737): never on a real network.
    private static let ipv4Prefixes = ["198.51.100", "203.0.113", "192.0.2"]

    public func ipv4(_ host: Int) -> String { addresses[host].ipv4 }
    public func ipv6(_ host: Int) -> String { addresses[host].ipv6 }

    /// Whether two hosts share a link (and so hear each other's multicast).
    public func onSameLink(_ first: Int, _ second: Int) -> Bool { subnetOfHost[first] == subnetOfHost[second] }

    /// Runs a program inside a host's namespace (`environment` as ``ProcessRunner/run(_:_:environment:input:timeout:)``).
    @discardableResult
    public func run(
        on host: Int, _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> ProcessRunner.Output {
        try await ProcessRunner.run(
            Self.ip, ["netns", "exec", hosts[host], executable] + arguments, environment: environment, timeout: timeout)
    }

    /// The command prefix that puts a program into a host's namespace.
    public func prefix(_ host: Int) -> [String] { [Self.ip, "netns", "exec", hosts[host]] }

    /// Unplugs a host's cable (at the bridge end): from now on nothing it sends arrives and
    /// nothing reaches it, and no one is told, as when a laptop leaves the Wi-Fi.
    public func unplug(_ host: Int) throws {
        try Self.ip(["-n", bridge, "link", "set", "p\(host)", "down"])
    }

    /// Plugs it back in.
    public func plug(_ host: Int) throws {
        try Self.ip(["-n", bridge, "link", "set", "p\(host)", "up"])
    }

    @discardableResult
    public static func ip(_ arguments: [String]) throws -> ProcessRunner.Output {
        let output = try ProcessRunner.run(ip, arguments)
        guard output.status == 0 else {
            throw TestFailure("ip \(arguments.joined(separator: " ")) failed: \(output.standardError)")
        }
        return output
    }

    private static func sysctl(_ namespace: String, _ settings: [String]) throws {
        let output = try ProcessRunner.run(ip, ["netns", "exec", namespace, "/usr/sbin/sysctl", "-q", "-w"] + settings)
        guard output.status == 0 else {
            throw TestFailure("sysctl \(settings.joined(separator: " ")) in \(namespace) failed with status \(output.status): \(output.standardError)\(output.standardOutput)")
        }
    }

    /// Kills what runs in the lab's namespaces and removes them; once (a failed init, then deinit).
    private func tearDown() {
        guard !tornDown.withLock({ done in defer { done = true }; return done }) else { return }
        for namespace in hosts + [bridge] {
            if let pids = try? ProcessRunner.run(Self.ip, ["netns", "pids", namespace]) {
                for pid in pids.standardOutput.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            _ = try? ProcessRunner.run(Self.ip, ["netns", "del", namespace])
        }
    }

    deinit { tearDown() }

    /// Whether this machine lets us make namespaces (root with iproute2).
    public static var isAvailable: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: ip)
    }
}
