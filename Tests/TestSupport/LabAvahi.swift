import DBus
import Foundation
import Synchronization

/// avahi-daemon on a host of a ``NetworkLab``: a private system bus for it (and for whatever
/// else on that host talks to Avahi), and a private /run, since avahi-daemon insists on
/// /run/avahi-daemon (docs/testing.md, "Avahi inside a namespace"). Killed when this object
/// ends, or with the lab's namespaces.
public final class LabAvahi: Sendable {
    /// The host's system bus, where its avahi-daemon is (`DBUS_SYSTEM_BUS_ADDRESS`, `--system-bus`).
    public var busAddress: String { bus.address }
    public let bus: PrivateBus
    /// Where avahi-daemon logs; a restarted one appends to it.
    public let log: URL
    /// The host name avahi-daemon announces (`NAME.local`).
    public let hostName: String
    /// The folder of this host's Avahi files, for a test's own logs too.
    public let folder: URL
    private let daemon = Mutex<Subprocess?>(nil)
    private let children = Mutex<[Subprocess]>([])
    private let lab: NetworkLab
    private let host: Int
    private let avahiConfig: URL

    /// The bus, and avahi-daemon on it unless `startingAvahi` is false (then ``startAvahi()``
    /// starts it later).
    public init(lab: NetworkLab, host: Int, startingAvahi: Bool = true) async throws {
        self.lab = lab
        self.host = host
        folder = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        let socket = "/tmp/\(lab.hosts[host])-sysbus"
        try? FileManager.default.removeItem(atPath: socket)
        let prefix = lab.prefix(host)
        bus = try await onOwnThread { try PrivateBus(.system, listen: "unix:path=\(socket)", prefix: prefix) }
        log = folder.appendingPathComponent("avahi.log")
        hostName = lab.hosts[host]
        avahiConfig = folder.appendingPathComponent("avahi.conf")
        // By default Avahi also sends AAAA records over IPv4 (`publish-aaaa-on-ipv4`), and a
        // resolver that takes either family (avahi-browse's) then reports whichever record came
        // first; here each family carries only its own addresses, so what is seen over IPv4 is
        // the host's IPv4 address. The rate limit is lifted for tests that publish many records.
        try """
            [server]
            host-name=\(hostName)
            use-ipv4=yes
            use-ipv6=yes
            allow-interfaces=eth0
            enable-dbus=yes
            ratelimit-interval-usec=1000000
            ratelimit-burst=1000
            [wide-area]
            enable-wide-area=no
            [publish]
            publish-workstation=no
            publish-hinfo=no
            publish-aaaa-on-ipv4=no
            """.write(to: avahiConfig, atomically: true, encoding: .utf8)
        if startingAvahi { try await startAvahi() }
    }

    /// The environment of a program that talks to this host's Avahi.
    public var environment: [String: String] {
        Subprocess.inheritedEnvironment.merging(["DBUS_SYSTEM_BUS_ADDRESS": busAddress]) { $1 }
    }

    /// Starts avahi-daemon and waits until it says it runs (in what it logged since this start:
    /// a restarted one's log already holds the first one's words).
    public func startAvahi() async throws {
        let logged = (try? FileManager.default.attributesOfItem(atPath: log.path)[.size] as? Int) ?? 0
        let avahi = try Subprocess(
            NetworkLab.ip,
            ["netns", "exec", lab.hosts[host], "unshare", "-m", "sh", "-c",
             "mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon && exec avahi-daemon -f '\(avahiConfig.path)' --no-drop-root --no-chroot --no-rlimits"],
            environment: environment, captureOutput: false, outputFile: log.path)
        daemon.withLock { $0 = avahi }
        do {
            try await eventually(within: .seconds(15), "avahi-daemon in \(lab.hosts[host]) to start") {
                guard avahi.isRunning else { throw TestFailure("avahi-daemon exited with status \(avahi.wait())") }
                let since = String(decoding: logText.utf8.dropFirst(logged), as: UTF8.self)
                return since.contains("Server startup complete") ? true : nil
            }
        } catch {
            throw TestFailure("\(error)\n\(logText)")
        }
    }

    /// Stops avahi-daemon (SIGTERM, as systemctl stop does: it says goodbye) and waits for it
    /// (SIGKILL after 10 s).
    public func stopAvahi() {
        guard let avahi = daemon.withLock({ current -> Subprocess? in defer { current = nil }; return current }) else { return }
        avahi.signal(SIGTERM)
        _ = avahi.wait(timeout: .seconds(10))
    }

    /// What avahi-daemon logged so far.
    public var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Runs a program (an Avahi tool, python-zeroconf) on this host, talking to its Avahi.
    @discardableResult
    public func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws
        -> ProcessRunner.Output
    {
        try await lab.run(on: host, executable, arguments, environment: environment, timeout: timeout)
    }

    /// Starts a long-running program (`avahi-publish`) on this host, talking to its Avahi, its
    /// output in `log` in ``folder``. It runs until stopped, or as long as this object.
    @discardableResult
    public func spawn(_ arguments: [String], log name: String) throws -> Subprocess {
        let child = try Subprocess(
            NetworkLab.ip, ["netns", "exec", lab.hosts[host]] + arguments, environment: environment,
            captureOutput: false, outputFile: folder.appendingPathComponent(name).path)
        children.withLock { $0.append(child) }
        return child
    }

    deinit {
        daemon.withLock { $0?.signal(SIGKILL) }
        children.withLock { $0.forEach { $0.signal(SIGKILL) } }
        try? FileManager.default.removeItem(at: folder)
    }
}

/// Whether avahi-daemon is installed here.
public let avahiInstalled = FileManager.default.isExecutableFile(atPath: "/usr/sbin/avahi-daemon")
