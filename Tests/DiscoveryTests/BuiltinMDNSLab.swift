import Foundation
import TestSupport

/// The pieces the namespace tests share: running commands, child processes whose output
/// lines are collected as they come, a two-namespace lab (veth pair, 192.0.2.0/24 and
/// 2001:db8::/64) and an avahi-daemon with its own system bus inside a namespace.
enum BuiltinMDNSLab {
    static let hasIP = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
    static let isRoot = getuid() == 0 && hasIP
    static let hasAvahi = ["/usr/sbin/avahi-daemon", "/usr/bin/avahi-browse", "/usr/bin/avahi-publish", "/usr/bin/dbus-daemon"]
        .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    static let hasZeroconf = run(["python3", "-c", "import zeroconf"]) == 0
    static let hasPython = run(["python3", "-c", "import socket"]) == 0
    static let packageRoot = ProcessRunner.repositoryRoot.path

    /// Runs a program (looked up in PATH) to completion; its exit status, -1 if it did not start.
    @discardableResult
    static func run(_ arguments: [String]) -> Int32 {
        (try? ProcessRunner.run("/usr/bin/env", arguments))?.status ?? -1
    }

    /// What a program (looked up in PATH) printed on stdout.
    static func output(of arguments: [String]) -> String {
        (try? ProcessRunner.run("/usr/bin/env", arguments))?.standardOutput ?? ""
    }

    /// A process whose output lines are collected as they come.
    final class Child: @unchecked Sendable {
        // `lines` and `partial` are written by the pipe's reader thread and read by the test,
        // always under `lock`; the other properties are set once in init.
        let process = Process()
        let input = Pipe()
        private let lock = NSLock()
        private var lines: [(Date, String)] = []
        private var partial = ""

        init(_ arguments: [String], environment: [String: String] = [:], mergeErrors: Bool = false) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.currentDirectoryURL = URL(fileURLWithPath: BuiltinMDNSLab.packageRoot)
            let output = Pipe()
            process.standardOutput = output
            process.standardError = mergeErrors ? output : FileHandle.nullDevice
            process.standardInput = input
            output.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard let self, !data.isEmpty else { return }
                self.lock.lock()
                self.partial += String(decoding: data, as: UTF8.self)
                while let newline = self.partial.firstIndex(of: "\n") {
                    self.lines.append((Date(), String(self.partial[..<newline])))
                    self.partial = String(self.partial[self.partial.index(after: newline)...])
                }
                self.lock.unlock()
            }
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }

        /// Waits (bounded) for a line containing all of `texts`; returns it and when it came.
        func waitFor(_ texts: String..., seconds: Double) async -> (Date, String)? {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end, !Task.isCancelled {
                let hit = lock.withLock { lines.first { line in texts.allSatisfy { line.1.contains($0) } } }
                if let hit { return hit }
                // A process that ended prints nothing more (once its last output is read).
                if !process.isRunning {
                    try? await Task.sleep(nanoseconds: 200_000_000)
                    return lock.withLock { lines.first { line in texts.allSatisfy { line.1.contains($0) } } }
                }
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
            return nil
        }

        /// Everything printed so far (for failure messages).
        var transcript: String { lock.withLock { lines.map(\.1).suffix(40).joined(separator: "\n") } }

        func send(_ line: String) {
            input.fileHandleForWriting.write(Data((line + "\n").utf8))
        }

        /// SIGKILL by default: children may inherit a mask that blocks SIGTERM from the test runner.
        func stop(signal: Int32 = SIGKILL) {
            if process.isRunning { kill(process.processIdentifier, signal) }
            process.waitUntilExit()
        }

        /// Resident memory in KiB from /proc (`ip netns exec` execs the program, so the pid is the program's).
        var residentKiB: Int? {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") }
        }
    }

    /// Two namespaces joined by a veth pair: `a` (vA: 192.0.2.1, 2001:db8::1) and `b`
    /// (vB: 192.0.2.2, 2001:db8::2). `tag` keeps labs of different tests apart.
    struct Lab {
        let tag: String
        let a: String
        let b: String
        let directory: String
        /// The private system buses `startAvahi` made, which live as long as the lab.
        private let buses = Store<[PrivateBus]>([])
        init(tag: String) {
            self.tag = tag
            a = "pcm\(tag)A\(getpid())"
            b = "pcm\(tag)B\(getpid())"
            directory = NSTemporaryDirectory() + "pcm-\(tag)-\(getpid())"
        }

        func up() {
            down()
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let pair = ("v\(tag)A\(getpid())", "v\(tag)B\(getpid())")
            for command in [
                ["ip", "netns", "add", a], ["ip", "netns", "add", b],
                ["ip", "link", "add", pair.0, "type", "veth", "peer", "name", pair.1],
                ["ip", "link", "set", pair.0, "netns", a, "name", "vA"], ["ip", "link", "set", pair.1, "netns", b, "name", "vB"],
                ["ip", "-n", a, "addr", "add", "192.0.2.1/24", "dev", "vA"], ["ip", "-n", b, "addr", "add", "192.0.2.2/24", "dev", "vB"],
                ["ip", "-n", a, "addr", "add", "2001:db8::1/64", "dev", "vA", "nodad"], ["ip", "-n", b, "addr", "add", "2001:db8::2/64", "dev", "vB", "nodad"],
                ["ip", "-n", a, "link", "set", "lo", "up"], ["ip", "-n", b, "link", "set", "lo", "up"],
                ["ip", "-n", a, "link", "set", "vA", "up"], ["ip", "-n", b, "link", "set", "vB", "up"],
                ["ip", "-n", a, "route", "add", "224.0.0.0/4", "dev", "vA"], ["ip", "-n", b, "route", "add", "224.0.0.0/4", "dev", "vB"],
            ] {
                BuiltinMDNSLab.run(command)
            }
        }

        /// Kills everything left in the namespaces (daemons, buses, children), deletes them
        /// and the lab's files.
        func down() {
            buses.set([])
            for namespace in [a, b] {
                for pid in BuiltinMDNSLab.output(of: ["ip", "netns", "pids", namespace]).split(separator: "\n").compactMap({ Int32($0) }) {
                    kill(pid, SIGKILL)
                }
                BuiltinMDNSLab.run(["ip", "netns", "del", namespace])
            }
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// This test binary again in child mode (not `swift test`, which would wait for the
        /// build lock), running one backend in `namespace`.
        func child(_ namespace: String, role: String, interface: String, name: String = "", ttl: Int = 120) throws -> Child {
            try Child(
                ["ip", "netns", "exec", namespace, ProcessInfo.processInfo.arguments[0], "--testing-library", "swift-testing", "--filter", "BuiltinMDNSNamespaceTests/childMode"],
                environment: ["PC_MDNS_CHILD_ROLE": role, "PC_MDNS_CHILD_INTERFACE": interface, "PC_MDNS_CHILD_NAME": name, "PC_MDNS_CHILD_TTL": "\(ttl)"],
                mergeErrors: true)
        }

        /// The system-bus address of the private bus `startAvahi` gives `namespace`.
        func busAddress(_ namespace: String) -> String { "unix:path=\(directory)/\(namespace)-sysbus" }

        /// Starts a private system bus and an avahi-daemon in `namespace` (on `interface`
        /// only) and waits until the daemon has registered its addresses.
        func startAvahi(in namespace: String, interface: String) async throws {
            // Not the host's system.conf: its service folders would let a call activate
            // whatever is installed here. The shared private bus activates nothing.
            try? FileManager.default.removeItem(atPath: "\(directory)/\(namespace)-sysbus")
            let address = busAddress(namespace)
            let bus = try await onOwnThread {
                try PrivateBus(.system, listen: address, prefix: [NetworkLab.ip, "netns", "exec", namespace])
            }
            buses.set(buses.get() + [bus])
            let avahiConfig = "\(directory)/\(namespace)-avahi.conf"
            try """
                [server]
                host-name=avahi-\(namespace.lowercased())
                use-ipv4=yes
                use-ipv6=yes
                allow-interfaces=\(interface)
                enable-dbus=yes
                ratelimit-interval-usec=0
                [publish]
                publish-workstation=no
                publish-hinfo=no
                [wide-area]
                enable-wide-area=no

                """.write(toFile: avahiConfig, atomically: true, encoding: .utf8)
            // avahi-daemon insists on /run/avahi-daemon; a private tmpfs keeps its pid file and
            // socket apart from any host daemon and from the other namespace's.
            try await daemon(
                in: namespace,
                [
                    "unshare", "-m", "sh", "-c",
                    "mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon && exec avahi-daemon -f \(avahiConfig) --no-drop-root --no-chroot --no-rlimits",
                ], until: "Server startup complete", environment: ["DBUS_SYSTEM_BUS_ADDRESS": busAddress(namespace)])
        }

        /// Starts a long-running daemon in `namespace`, detached, with its output in a log
        /// file, and waits for `text` in that log. Not a `Child`: daemons close the descriptors
        /// they inherit, and Foundation's Process takes that for an exit and blocks its one
        /// reaping thread in waitpid(2) on the running daemon, hanging every later
        /// waitUntilExit. A short-lived Python wrapper that closes its descriptors first starts
        /// it instead; `down()` kills it with the rest of the namespace.
        func daemon(in namespace: String, _ command: [String], until text: String, environment: [String: String] = [:]) async throws {
            let log = "\(directory)/\(namespace)-\(command[0]).log"
            let wrapper = """
                import os, subprocess, sys
                os.closerange(3, 65536)
                subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=open(sys.argv[1], "ab"), stderr=subprocess.STDOUT, start_new_session=True)
                """
            let variables = environment.map { "\($0.key)=\($0.value)" }
            BuiltinMDNSLab.run(["ip", "netns", "exec", namespace, "env"] + variables + ["python3", "-c", wrapper, log] + command)
            let end = Date().addingTimeInterval(20)
            while Date() < end, !Task.isCancelled {
                if let content = try? String(contentsOfFile: log, encoding: .utf8), content.contains(text) { return }
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
            let content = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw LabError(what: "\(command[0]) in \(namespace) did not start:\n\(content)")
        }

        /// An Avahi client tool (`avahi-browse`, `avahi-publish`) in `namespace`, talking to
        /// that namespace's daemon.
        func avahiTool(_ namespace: String, _ arguments: [String]) throws -> Child {
            try Child(["ip", "netns", "exec", namespace] + arguments, environment: ["DBUS_SYSTEM_BUS_ADDRESS": busAddress(namespace)])
        }

        /// python-zeroconf in `namespace` (bound to `address`), publishing `name` with a `pn`
        /// TXT record when given and printing what it browses, for `seconds`.
        func zeroconf(_ namespace: String, address: String, publish name: String? = nil, port: Int = 4444, seconds: Int = 30) throws -> Child {
            let script = """
                import sys, time, socket
                from zeroconf import Zeroconf, ServiceBrowser, ServiceListener, ServiceInfo, IPVersion
                class L(ServiceListener):
                    def add_service(self, zc, t, n):
                        info = zc.get_service_info(t, n, timeout=3000)
                        props = {k.decode(): (v or b'').decode() for k, v in (info.properties or {}).items()} if info else {}
                        print("zeroconf found", n, props, info.parsed_addresses() if info else None, flush=True)
                    def remove_service(self, zc, t, n): print("zeroconf lost", n, flush=True)
                    def update_service(self, zc, t, n): pass
                zc = Zeroconf(interfaces=[sys.argv[1]], ip_version=IPVersion.V4Only)
                if sys.argv[3]:
                    info = ServiceInfo("_peercollab._tcp.local.", sys.argv[3] + "._peercollab._tcp.local.",
                        addresses=[socket.inet_aton(sys.argv[1])], port=int(sys.argv[4]),
                        properties={"v": "1", "pn": sys.argv[3]}, server="zc-" + sys.argv[3].lower() + ".local.")
                    zc.register_service(info)
                    print("zeroconf published", flush=True)
                ServiceBrowser(zc, "_peercollab._tcp.local.", L())
                time.sleep(float(sys.argv[2]))
                zc.close()
                """
            return try Child(["ip", "netns", "exec", namespace, "python3", "-c", script, address, "\(seconds)", name ?? "", "\(port)"])
        }
    }

    struct LabError: Error, CustomStringConvertible {
        var what: String
        var description: String { what }
    }
}
