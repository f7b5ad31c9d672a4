import DBus
import Foundation
import Synchronization

/// avahi-daemon on a host of a ``NetworkLab``: a private system bus for it (and for the
/// peercollabd of that host), and a private /run (docs/testing.md, "Avahi inside a namespace").
final class LabAvahi: Sendable {
    let busAddress: String
    let bus: Subprocess
    private let daemon = Mutex<Subprocess?>(nil)
    let log: URL
    private let lab: NetworkLab
    private let host: Int
    private let avahiConfig: URL

    /// The bus, and avahi-daemon on it unless `startingAvahi` is false (then ``startAvahi()``
    /// starts it later).
    init(lab: NetworkLab, host: Int, startingAvahi: Bool = true) async throws {
        self.lab = lab
        self.host = host
        let folder = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        let socket = "/tmp/\(lab.hosts[host])-sysbus"
        busAddress = "unix:path=\(socket)"
        let busConfig = folder.appendingPathComponent("bus.conf")
        try """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>system</type>
              <listen>\(busAddress)</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow user="*"/><allow own="*"/>
                <allow send_type="method_call"/><allow send_type="signal"/>
                <allow send_type="method_return"/><allow send_type="error"/>
                <allow receive_type="method_call"/><allow receive_type="signal"/>
                <allow receive_type="method_return"/><allow receive_type="error"/>
              </policy>
            </busconfig>
            """.write(to: busConfig, atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: socket)
        log = folder.appendingPathComponent("avahi.log")
        bus = try Subprocess(NetworkLab.ip, ["netns", "exec", lab.hosts[host], "/usr/bin/dbus-daemon", "--config-file=\(busConfig.path)", "--nofork", "--nopidfile"],
                             captureOutput: false, outputFile: folder.appendingPathComponent("bus.log").path)
        try await Self.eventually("the system bus of \(lab.hosts[host])") { FileManager.default.fileExists(atPath: socket) }
        avahiConfig = folder.appendingPathComponent("avahi.conf")
        try """
            [server]
            host-name=\(lab.hosts[host])
            use-ipv4=yes
            use-ipv6=yes
            allow-interfaces=eth0
            enable-dbus=yes
            [wide-area]
            enable-wide-area=no
            [publish]
            publish-workstation=no
            publish-hinfo=no
            """.write(to: avahiConfig, atomically: true, encoding: .utf8)
        if startingAvahi { try await startAvahi() }
    }

    /// Starts avahi-daemon and waits until it says it runs.
    func startAvahi() async throws {
        var environment = ProcessInfo.processInfo.environment
        environment["DBUS_SYSTEM_BUS_ADDRESS"] = busAddress
        let avahi = try Subprocess(
            NetworkLab.ip,
            ["netns", "exec", lab.hosts[host], "unshare", "-m", "sh", "-c",
             "mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon && exec avahi-daemon -f '\(avahiConfig.path)' --no-drop-root --no-chroot --no-rlimits"],
            environment: environment, captureOutput: false, outputFile: log.path)
        daemon.withLock { $0 = avahi }
        let logURL = log
        let text = { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
        do {
            try await Self.eventually("avahi-daemon in \(lab.hosts[host]) to start") { text().contains("Server startup complete") }
        } catch {
            throw TestFailure("\(error)\n\(text())")
        }
    }

    static func eventually(_ what: String, timeout: Duration = .seconds(15), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("never happened within \(timeout): \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Stops avahi-daemon (SIGTERM, as systemctl stop does: it says goodbye) and waits for it.
    func stopAvahi() {
        guard let avahi = daemon.withLock({ current -> Subprocess? in defer { current = nil }; return current }) else { return }
        avahi.signal(SIGTERM)
        _ = avahi.wait()
    }

    /// What avahi-daemon logged so far.
    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    deinit {
        daemon.withLock { $0?.signal(SIGKILL) }
        bus.signal(SIGKILL)
    }
}

/// Whether avahi-daemon is installed here.
let avahiInstalled = FileManager.default.isExecutableFile(atPath: "/usr/sbin/avahi-daemon")
