import Foundation
import Testing
import TestSupport

/// The firewall profiles in dist/, loaded into a real firewalld and a real ufw on host 0 of a
/// lab, with everything else dropped: a peer on host 1 still reaches the daemon's TCP port in
/// both families, mDNS still arrives, and the two daemons become peers near me. A port the
/// profile does not name stays closed, so the firewall is really in the way.
@Suite(.serialized, .enabled(if: NetworkLab.isAvailable, "needs root and iproute2 to make network namespaces"))
struct FirewallProfileLabTests {
    static let peerPort = 46773

    static var firewalldInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/firewalld") }
    static var ufwInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/ufw") }

    /// Whether TCP `port` on host `to` accepts a connection from host `from` within 3 s,
    /// over IPv4 and over IPv6.
    static func tcpOpen(_ lab: NetworkLab, from: Int, to: Int, port: Int) async throws -> (ipv4: Bool, ipv6: Bool) {
        let script = """
            import socket
            for host in ["\(lab.ipv4(to))", "\(lab.ipv6(to))"]:
                try:
                    socket.create_connection((host, \(port)), timeout=3).close(); print("open", host)
                except OSError as e:
                    print("closed", host, type(e).__name__)
            """
        let output = try await lab.run(on: from, "/usr/bin/env", ["python3", "-c", script]).standardOutput
        return (output.contains("open \(lab.ipv4(to))\n"), output.contains("open \(lab.ipv6(to))\n"))
    }

    /// Whether mDNS datagrams host `from` sends to 224.0.0.251 and ff02::fb reach a listener
    /// on host `to` (which shares port 5353, as responders do).
    static func mDNSArrives(_ lab: NetworkLab, from: Int, to: Int) async throws -> (ipv4: Bool, ipv6: Bool) {
        let listener = """
            import select, socket, struct, time
            idx = socket.if_nametoindex("eth0")
            u4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); u4.bind(("224.0.0.251", 5353))
            u4.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                struct.pack("4s4si", socket.inet_aton("224.0.0.251"), socket.inet_aton("0.0.0.0"), idx))
            u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            u6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); u6.bind(("ff02::fb", 5353, 0, idx))
            u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                socket.inet_pton(socket.AF_INET6, "ff02::fb") + struct.pack("@I", idx))
            print("listening", flush=True)
            seen = set(); end = time.time() + 15
            while time.time() < end and len(seen) < 2:
                for s in select.select([u4, u6], [], [], 0.2)[0]:
                    data, _ = s.recvfrom(2048)
                    if data.startswith(b"labprobe"): seen.add(data.decode()); print(data.decode(), flush=True)
            """
        let sender = """
            import socket, time
            idx = socket.if_nametoindex("eth0")
            s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s4.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("\(lab.ipv4(from))"))
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
            for _ in range(20):
                s4.sendto(b"labprobe4", ("224.0.0.251", 5353)); s6.sendto(b"labprobe6", ("ff02::fb", 5353, 0, idx))
                time.sleep(0.25)
            """
        let listening = try Subprocess(
            NetworkLab.ip, ["netns", "exec", lab.hosts[to], "/usr/bin/env", "python3", "-c", listener], captureOutput: true)
        defer { listening.signal(SIGKILL) }
        let ready = listening.readStandardOutput(until: .now + .seconds(10)) { $0.contains("listening") }
        guard ready.contains("listening") else { throw TestFailure("the mDNS listener on host \(to) did not start") }
        // The listener stops once both have come (or after 15 s); the sender's 5 s of datagrams
        // cover the way.
        let sent = Task { try await lab.run(on: from, "/usr/bin/env", ["python3", "-c", sender]) }
        let heard = listening.readStandardOutput(until: .now + .seconds(15)) { $0.contains("labprobe4") && $0.contains("labprobe6") }
        _ = try await sent.value
        return (heard.contains("labprobe4"), heard.contains("labprobe6"))
    }

    /// Two daemons near me, A behind the firewall on the profile's port: each finds the other.
    static func daemonsBecomePeers(_ lab: NetworkLab) async throws {
        let a = try await LabDaemon(lab: lab, host: 0, signIn: "near-me", extraArguments: ["--port", "\(peerPort)"])
        let b = try await LabDaemon(lab: lab, host: 1, signIn: "near-me")
        let (nameA, nameB) = (try await a.peerName, try await b.peerName)
        _ = try await a.waitForPeers("A, behind the firewall, has B as a peer", timeout: .seconds(30)) {
            $0.values.contains { $0["PeerName"]?.stringValue == nameB }
        }
        _ = try await b.waitForPeers("B has A as a peer", timeout: .seconds(30)) {
            $0.values.contains { $0["PeerName"]?.stringValue == nameA }
        }
        let open = try await tcpOpen(lab, from: 1, to: 0, port: peerPort)
        #expect(open.ipv4 && open.ipv6, "the daemon's port through the firewall: \(open)")
    }

    @Test(.enabled(if: FirewallProfileLabTests.firewalldInstalled, "needs firewalld (dist/install-deps test)"))
    func firewalldWithThePeercollabServiceLetsPeersAndMDNSIn() async throws {
        let lab = try NetworkLab(hosts: 2)
        // firewalld talks D-Bus: a private system bus in host 0, with nothing else on it.
        let system = try await LabAvahi(lab: lab, host: 0, startingAvahi: false)
        let folder = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Its configuration: the stock one with the drop zone as default, and our service.
        let config = folder.appendingPathComponent("etc")
        try FileManager.default.copyItem(atPath: "/etc/firewalld", toPath: config.path)
        let conf = config.appendingPathComponent("firewalld.conf")
        let settings = try String(contentsOf: conf, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("DefaultZone=") ? "DefaultZone=drop" : String($0) }.joined(separator: "\n")
        try settings.write(to: conf, atomically: true, encoding: .utf8)
        let services = config.appendingPathComponent("services")
        try FileManager.default.createDirectory(at: services, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: ProcessRunner.repositoryRoot.appendingPathComponent("dist/firewalld/peercollab.xml"),
            to: services.appendingPathComponent("peercollab.xml"))
        // What the profile had before: one <destination> for both ports.
        try """
            <?xml version="1.0" encoding="utf-8"?>
            <service>
              <short>peercollab-destination-for-all</short>
              <port protocol="tcp" port="\(Self.peerPort)"/>
              <port protocol="udp" port="5353"/>
              <destination ipv4="224.0.0.251" ipv6="ff02::fb"/>
            </service>
            """.write(to: services.appendingPathComponent("peercollab-destination-for-all.xml"), atomically: true, encoding: .utf8)

        var environment = ProcessInfo.processInfo.environment
        environment["DBUS_SYSTEM_BUS_ADDRESS"] = system.busAddress
        let log = folder.appendingPathComponent("firewalld.log")
        // A private /run, so that nothing of it (its PID file) shows outside host 0.
        let firewalld = try Subprocess(
            NetworkLab.ip,
            ["netns", "exec", lab.hosts[0], "unshare", "-m", "sh", "-c",
             "mount -t tmpfs tmpfs /run && exec firewalld --nofork --nopid --system-config '\(config.path)' --log-target console"],
            environment: environment, captureOutput: false, outputFile: log.path)
        defer {
            firewalld.signal(SIGTERM)
            _ = firewalld.wait()
        }
        func firewallCmd(_ arguments: [String]) throws -> ProcessRunner.Output {
            try ProcessRunner.run(
                NetworkLab.ip,
                ["netns", "exec", lab.hosts[0], "/usr/bin/env", "DBUS_SYSTEM_BUS_ADDRESS=\(system.busAddress)", "firewall-cmd"] + arguments,
                timeout: .seconds(30))
        }
        let logText = { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        try await eventually(within: .seconds(60), "firewalld in host 0 to run") {
            (try? firewallCmd(["--state"]))?.standardOutput.contains("running") == true ? true : nil
        }
        // The profile parses (a broken file would be "INVALID_SERVICE"), and is what we ship.
        let info = try firewallCmd(["--info-service=peercollab"])
        #expect(info.status == 0, "\(info.standardError)\n\(logText())")
        #expect(info.standardOutput.contains("ports: \(Self.peerPort)/tcp"), "\(info.standardOutput)")
        #expect(info.standardOutput.contains("includes: mdns"), "\(info.standardOutput)")
        #expect(try firewallCmd(["--zone=drop", "--change-interface=eth0"]).status == 0)

        // A <destination> for the whole service keeps the peer port shut.
        #expect(try firewallCmd(["--zone=drop", "--add-service=peercollab-destination-for-all"]).status == 0)
        let listener = try Subprocess(
            NetworkLab.ip,
            ["netns", "exec", lab.hosts[0], "/usr/bin/env", "python3", "-c",
             "import socket,time\ns=socket.socket(socket.AF_INET6)\ns.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)\ns.bind(('::',\(Self.peerPort)))\ns.listen()\nprint('listening',flush=True)\ntime.sleep(20)"],
            captureOutput: true)
        _ = listener.readStandardOutput(until: .now + .seconds(10)) { $0.contains("listening") }
        let shut = try await Self.tcpOpen(lab, from: 1, to: 0, port: Self.peerPort)
        listener.signal(SIGKILL)
        _ = listener.wait()
        #expect(!shut.ipv4 && !shut.ipv6, "with a <destination> for both ports: \(shut)")
        #expect(try firewallCmd(["--zone=drop", "--remove-service=peercollab-destination-for-all"]).status == 0)

        // The shipped profile: mDNS in, peers in, and only those.
        #expect(try firewallCmd(["--zone=drop", "--add-service=peercollab"]).status == 0)
        let mDNS = try await Self.mDNSArrives(lab, from: 1, to: 0)
        #expect(mDNS.ipv4 && mDNS.ipv6, "mDNS through firewalld: \(mDNS)")
        try await Self.daemonsBecomePeers(lab)
        let other = try await Self.tcpOpen(lab, from: 1, to: 0, port: Self.peerPort + 1)
        #expect(!other.ipv4 && !other.ipv6, "a port the profile does not name: \(other)")
    }

    @Test(.enabled(if: FirewallProfileLabTests.ufwInstalled, "needs ufw (dist/install-deps test)"))
    func ufwAllowingThePeercollabProfileLetsPeersAndMDNSIn() async throws {
        let lab = try NetworkLab(hosts: 2)
        let folder = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // ufw keeps its state in /etc/ufw and /etc/default/ufw: copies, mounted over them in
        // a private mount namespace, so the machine's own ufw stays as it is.
        let etc = folder.appendingPathComponent("ufw")
        try FileManager.default.copyItem(atPath: "/etc/ufw", toPath: etc.path)
        try FileManager.default.copyItem(
            at: ProcessRunner.repositoryRoot.appendingPathComponent("dist/ufw/peercollab"),
            to: etc.appendingPathComponent("applications.d/peercollab"))
        let defaults = folder.appendingPathComponent("default-ufw")
        try FileManager.default.copyItem(atPath: "/etc/default/ufw", toPath: defaults.path)
        let setup = try await ProcessRunner.run(
            NetworkLab.ip,
            ["netns", "exec", lab.hosts[0], "unshare", "-m", "sh", "-ec",
             "mount --bind '\(etc.path)' /etc/ufw && mount --bind '\(defaults.path)' /etc/default/ufw && "
                + "ufw app info peercollab && ufw --force enable && ufw allow peercollab && ufw status verbose"],
            timeout: .seconds(60))
        #expect(setup.status == 0, "\(setup.standardOutput)\(setup.standardError)")
        #expect(setup.standardOutput.contains("\(Self.peerPort)/tcp (peercollab)"), "\(setup.standardOutput)")
        #expect(setup.standardOutput.contains("Default: deny (incoming)"), "\(setup.standardOutput)")

        let mDNS = try await Self.mDNSArrives(lab, from: 1, to: 0)
        #expect(mDNS.ipv4 && mDNS.ipv6, "mDNS through ufw: \(mDNS)")
        try await Self.daemonsBecomePeers(lab)
        let other = try await Self.tcpOpen(lab, from: 1, to: 0, port: Self.peerPort + 1)
        #expect(!other.ipv4 && !other.ipv6, "a port the profile does not name: \(other)")
    }
}
