import DBus
import Foundation
import Synchronization

/// A ``LabNetwork`` whose hosts run their own dbus-daemon (a private "system bus") and,
/// when asked, their own avahi-daemon on eth0.
final class AvahiLab: Sendable {
    let network: LabNetwork
    private let daemons = Mutex<[String: LabProcess]>([:])

    init(hosts: Int) throws {
        network = try LabNetwork(hosts: hosts)
        do {
            for host in network.hosts { try startBus(host) }
        } catch {
            network.tearDown()
            throw error
        }
    }

    func tearDown() { network.tearDown() }

    var hosts: [LabNetwork.Host] { network.hosts }

    func busPath(_ host: LabNetwork.Host) -> String { "/tmp/\(host.namespace)-sysbus" }
    /// What our backend and the Avahi tools in `host` connect to.
    func busAddress(_ host: LabNetwork.Host) -> String { "unix:path=\(busPath(host))" }
    func environment(_ host: LabNetwork.Host) -> [String: String] { ["DBUS_SYSTEM_BUS_ADDRESS": busAddress(host)] }
    func hostName(_ host: LabNetwork.Host) -> String { "\(network.id)-\(host.number)" }

    private func startBus(_ host: LabNetwork.Host) throws {
        let config = network.directory.appendingPathComponent("\(host.namespace)-bus.conf")
        try """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>system</type>
          <listen>unix:path=\(busPath(host))</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow user="*"/>
            <allow own="*"/>
            <allow send_type="method_call"/><allow send_type="signal"/>
            <allow send_type="method_return"/><allow send_type="error"/>
            <allow receive_type="method_call"/><allow receive_type="signal"/>
            <allow receive_type="method_return"/><allow receive_type="error"/>
          </policy>
        </busconfig>
        """.write(to: config, atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: busPath(host))
        _ = try network.spawn(
            in: host, ["dbus-daemon", "--config-file=\(config.path)", "--nofork", "--nopidfile"], log: "\(host.namespace)-bus.log")
        try waitFor("the bus of \(host.namespace)", seconds: 10) {
            FileManager.default.fileExists(atPath: busPath(host))
                && (try? DBusConnection(bus: .address(busAddress(host))))?.isConnected == true
        }
    }

    /// Starts avahi-daemon in `host` (with a private /run) and waits until it runs.
    /// By default Avahi also sends AAAA records over IPv4 (`publish-aaaa-on-ipv4`), and a
    /// resolver that takes either family (avahi-browse's) then reports whichever record came
    /// first; here each family carries only its own addresses, so what is seen over IPv4 is
    /// host's IPv4 address.
    func startAvahi(_ host: LabNetwork.Host) throws {
        let config = network.directory.appendingPathComponent("\(host.namespace)-avahi.conf")
        try """
        [server]
        host-name=\(hostName(host))
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
        """.write(to: config, atomically: true, encoding: .utf8)
        let process = try network.spawn(
            in: host,
            [
                "unshare", "-m", "sh", "-c",
                "mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon && exec avahi-daemon -f \(config.path) "
                    + "--no-drop-root --no-chroot --no-rlimits",
            ], environment: environment(host), log: "\(host.namespace)-avahi.log")
        daemons.withLock { $0[host.namespace] = process }
        try waitFor("avahi-daemon in \(host.namespace) to run", seconds: 15) {
            guard process.isRunning else { return false }
            return network.log("\(host.namespace)-avahi.log").contains("Server startup complete")
        }
    }

    /// Stops avahi-daemon in `host` (SIGTERM: it says goodbye, as on `systemctl stop`).
    func stopAvahi(_ host: LabNetwork.Host) throws {
        guard let process = daemons.withLock({ $0.removeValue(forKey: host.namespace) }) else { return }
        process.signal(SIGTERM)
        try waitFor("avahi-daemon in \(host.namespace) to exit", seconds: 10) { !process.isRunning }
        // The next daemon appends to the same log; keep the old one for reading.
        let log = network.directory.appendingPathComponent("\(host.namespace)-avahi.log")
        let old = network.directory.appendingPathComponent("\(host.namespace)-avahi.\(UUID().uuidString).log")
        try? FileManager.default.moveItem(at: log, to: old)
    }

    /// Runs an Avahi tool (or anything) in `host` against its private bus.
    func run(in host: LabNetwork.Host, _ command: String) throws -> (status: Int32, output: String) {
        try network.run(in: host, command, environment: environment(host))
    }

    func spawn(in host: LabNetwork.Host, _ arguments: [String], log: String) throws -> LabProcess {
        try network.spawn(in: host, arguments, environment: environment(host), log: log)
    }
}

/// Polls `condition` every 50 ms until it holds; throws after `seconds` saying what never happened.
func waitFor(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        usleep(50_000)
    }
    throw LabError("Timed out after \(seconds) s waiting for \(what)")
}
