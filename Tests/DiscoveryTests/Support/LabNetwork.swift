import Foundation
import Synchronization

/// Network namespaces joined by a bridge that lives in its own namespace: a private link
/// for multicast tests. Host N gets `eth0` with 192.0.2.N/24 and 2001:db8::N/64. Everything
/// (processes, namespaces, files) goes away in ``tearDown()``, which also runs on deinit.
final class LabNetwork: Sendable {
    struct Host: Sendable, Hashable {
        let namespace: String
        let number: Int
        var ipv4: String { "192.0.2.\(number)" }
        var ipv6: String { "2001:db8::\(number)" }
    }

    let id: String
    let hosts: [Host]
    let bridgeNamespace: String
    let directory: URL
    private let processes = Mutex<[LabProcess]>([])
    private let tornDown = Mutex(false)

    private static let counter = Atomic<Int>(0)

    /// Creates `count` hosts. Throws (after cleaning up) when a command fails.
    init(hosts count: Int) throws {
        let serial = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
        let id = "pcl\(getpid() % 100_000)x\(serial)"
        self.id = id
        bridgeNamespace = "\(id)br"
        hosts = (1...count).map { Host(namespace: "\(id)h\($0)", number: $0) }
        directory = URL(fileURLWithPath: "/tmp/\(id)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Self.sh("ip netns add \(bridgeNamespace)")
            try Self.sh("ip -n \(bridgeNamespace) link add br0 type bridge && ip -n \(bridgeNamespace) link set br0 up")
            for host in hosts {
                let ns = host.namespace
                try Self.sh("ip netns add \(ns) && ip -n \(ns) link set lo up")
                try Self.sh("ip netns exec \(ns) sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0")
                try Self.sh("ip -n \(ns) link add eth0 type veth peer name v\(host.number) netns \(bridgeNamespace)")
                try Self.sh("ip -n \(bridgeNamespace) link set v\(host.number) master br0 up")
                try Self.sh(
                    "ip -n \(ns) addr add \(host.ipv4)/24 dev eth0 && ip -n \(ns) addr add \(host.ipv6)/64 dev eth0 nodad"
                        + " && ip -n \(ns) link set eth0 up")
            }
        } catch {
            tearDown()
            throw error
        }
    }

    deinit { tearDown() }

    /// Kills everything in the namespaces and deletes them and the lab's files.
    func tearDown() {
        let already = tornDown.withLock { value -> Bool in
            defer { value = true }
            return value
        }
        guard !already else { return }
        for process in processes.withLock({ $0 }) {
            process.signal(SIGKILL)
            _ = process.wait(seconds: 2)
        }
        for ns in hosts.map(\.namespace) + [bridgeNamespace] {
            _ = try? Self.sh("for p in $(ip netns pids \(ns) 2>/dev/null); do kill -9 $p; done; ip netns del \(ns) 2>/dev/null; true")
        }
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: Running things

    /// Runs a shell command in the root namespace; throws with its output when it fails.
    @discardableResult
    static func sh(_ command: String) throws -> String {
        let result = try run(["/bin/sh", "-c", command])
        guard result.status == 0 else {
            throw LabError("`\(command)` failed (\(result.status)): \(result.output)")
        }
        return result.output
    }

    private static let runCounter = Atomic<Int>(0)

    /// Runs a program to completion (at most `seconds`), returning its exit status and output.
    static func run(_ arguments: [String], environment: [String: String] = [:], seconds: Double = 60) throws
        -> (status: Int32, output: String)
    {
        let n = runCounter.wrappingAdd(1, ordering: .relaxed).newValue
        let path = "/tmp/peercollab-lab-run-\(getpid())-\(n).out"
        defer { unlink(path) }
        let process = try LabProcess(arguments, environment: environment, logPath: path)
        let status = process.wait(seconds: seconds)
        return (status, process.output)
    }

    /// Runs `command` (a shell line) inside `host` to completion.
    func run(in host: Host, _ command: String, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try Self.run(["/usr/sbin/ip", "netns", "exec", host.namespace, "/bin/sh", "-c", command], environment: environment)
    }

    /// Starts a long-running program inside `host`; it is killed at teardown at the latest.
    /// Output goes to `log` in the lab directory.
    func spawn(in host: Host, _ arguments: [String], environment: [String: String] = [:], log: String) throws -> LabProcess {
        let process = try LabProcess(
            ["/usr/sbin/ip", "netns", "exec", host.namespace] + arguments, environment: environment,
            logPath: directory.appendingPathComponent(log).path)
        processes.withLock { $0.append(process) }
        return process
    }

    /// The output a spawned program has written so far.
    func log(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }
}

/// A lab setup step that failed, with what the command said.
struct LabError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
