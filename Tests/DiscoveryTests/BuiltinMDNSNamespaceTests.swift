import Foundation
import NIOCore
import Testing

@testable import Discovery

/// Real interop on a two-namespace lab (veth pair, 192.0.2.0/24 and 2001:db8::/64): our
/// backend runs in a child process inside a namespace (this test binary again, in
/// "child" mode), python-zeroconf and our own browser look from the other namespace.
/// Needs root and iproute2; skipped with a reason otherwise.
@Suite(.serialized) struct BuiltinMDNSNamespaceTests {
    static let isRoot = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let childRole = ProcessInfo.processInfo.environment["PC_MDNS_CHILD_ROLE"]

    @discardableResult
    static func run(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A process whose output lines are collected as they come.
    final class Child: @unchecked Sendable {
        // Lines are appended by the pipe's reader and read by the test under `lock`.
        let process = Process()
        let input = Pipe()
        private let lock = NSLock()
        private var lines: [(Date, String)] = []
        private var partial = ""

        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.currentDirectoryURL = URL(fileURLWithPath: BuiltinMDNSNamespaceTests.packageRoot)
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
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

        /// Waits (bounded) for a line containing `text`; returns it and when it came.
        func waitFor(_ text: String, seconds: Double) async -> (Date, String)? {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                let hit = lock.withLock { lines.first { $0.1.contains(text) } }
                if let hit { return hit }
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
            return nil
        }

        func send(_ line: String) {
            input.fileHandleForWriting.write(Data((line + "\n").utf8))
        }

        func stop(signal: Int32 = SIGTERM) {
            if process.isRunning { kill(process.processIdentifier, signal) }
            process.waitUntilExit()
        }
    }

    struct Lab {
        let a = "pcmA\(getpid())"
        let b = "pcmB\(getpid())"

        func up() {
            down()
            for command in [
                ["ip", "netns", "add", a], ["ip", "netns", "add", b],
                ["ip", "link", "add", "vA\(getpid())", "type", "veth", "peer", "name", "vB\(getpid())"],
                ["ip", "link", "set", "vA\(getpid())", "netns", a, "name", "vA"], ["ip", "link", "set", "vB\(getpid())", "netns", b, "name", "vB"],
                ["ip", "-n", a, "addr", "add", "192.0.2.1/24", "dev", "vA"], ["ip", "-n", b, "addr", "add", "192.0.2.2/24", "dev", "vB"],
                ["ip", "-n", a, "addr", "add", "2001:db8::1/64", "dev", "vA", "nodad"], ["ip", "-n", b, "addr", "add", "2001:db8::2/64", "dev", "vB", "nodad"],
                ["ip", "-n", a, "link", "set", "lo", "up"], ["ip", "-n", b, "link", "set", "lo", "up"],
                ["ip", "-n", a, "link", "set", "vA", "up"], ["ip", "-n", b, "link", "set", "vB", "up"],
                ["ip", "-n", a, "route", "add", "224.0.0.0/4", "dev", "vA"], ["ip", "-n", b, "route", "add", "224.0.0.0/4", "dev", "vB"],
            ] {
                BuiltinMDNSNamespaceTests.run(command)
            }
        }

        func down() {
            for namespace in [a, b] {
                let pids = Process()
                pids.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                pids.arguments = ["ip", "netns", "pids", namespace]
                let pipe = Pipe()
                pids.standardOutput = pipe
                pids.standardError = FileHandle.nullDevice
                if (try? pids.run()) != nil {
                    pids.waitUntilExit()
                    for pid in String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").compactMap({ Int32($0) }) {
                        kill(pid, SIGKILL)
                    }
                }
                BuiltinMDNSNamespaceTests.run(["ip", "netns", "del", namespace])
            }
        }

        func child(_ namespace: String, role: String, interface: String, name: String = "", ttl: Int = 120) throws -> Child {
            try Child(
                // The test binary itself (not `swift test`, which would wait for the build lock we hold).
                ["ip", "netns", "exec", namespace, ProcessInfo.processInfo.arguments[0], "--testing-library", "swift-testing", "--filter", "BuiltinMDNSNamespaceTests/childMode"],
                environment: ["PC_MDNS_CHILD_ROLE": role, "PC_MDNS_CHILD_INTERFACE": interface, "PC_MDNS_CHILD_NAME": name, "PC_MDNS_CHILD_TTL": "\(ttl)"])
        }
    }

    /// Child mode: runs one backend in the namespace it was started in, printing events.
    @Test(.enabled(if: childRole != nil, "runs only as a child of the namespace tests"))
    func childMode() async throws {
        let environment = ProcessInfo.processInfo.environment
        let ttl = UInt32(environment["PC_MDNS_CHILD_TTL"] ?? "") ?? 120
        let backend = BuiltinMDNSBackend(configuration: .init(allowInterfaces: [environment["PC_MDNS_CHILD_INTERFACE"] ?? "vA"], ttls: .init(hostRecords: ttl, otherRecords: ttl)))
        let start = NIODeadline.now()
        func say(_ text: String) {
            FileHandle.standardOutput.write(Data("MDNSCHILD \((NIODeadline.now() - start).nanoseconds / 1_000_000) \(text)\n".utf8))
        }
        if Self.childRole == "publish" {
            let name = environment["PC_MDNS_CHILD_NAME"] ?? "Alice"
            try await backend.publish(ServiceAnnouncement(instanceName: name, port: 4242, txt: ["v": "1", "pn": name]))
            say("published")
            // Withdraw when the parent writes a line, then exit.
            _ = await Task.detached { readLine() }.value
            await backend.withdraw()
            say("withdrawn")
            try await Task.sleep(nanoseconds: 300_000_000)
        } else {
            let events = try await backend.browse()
            say("browsing")
            for await event in events {
                switch event {
                case .found(let service): say("found \(service.instanceName) \(service.addresses) \(service.txt)")
                case .lost(let name): say("lost \(name)")
                case .renamed(let name): say("renamed \(name)")
                }
            }
        }
        await backend.shutdown()
    }

    @Test(.enabled(if: isRoot && childRole == nil, "needs root and iproute2 for network namespaces"), .timeLimit(.minutes(2)))
    func publishAndBrowseAcrossNamespacesWithZeroconfAndGoodbye() async throws {
        let lab = Lab()
        lab.up()
        defer { lab.down() }
        let publisher = try lab.child(lab.a, role: "publish", interface: "vA", name: "Alice")
        defer { publisher.stop(signal: SIGKILL) }
        #expect(await publisher.waitFor("published", seconds: 60) != nil, "the publisher never started")

        let zeroconfScript = """
            import sys, time
            from zeroconf import Zeroconf, ServiceBrowser, ServiceListener, IPVersion
            class L(ServiceListener):
                def add_service(self, zc, t, n):
                    info = zc.get_service_info(t, n, timeout=3000)
                    props = {k.decode(): (v or b'').decode() for k, v in (info.properties or {}).items()} if info else {}
                    print("zeroconf found", n, props, info.parsed_addresses() if info else None, flush=True)
                def remove_service(self, zc, t, n): print("zeroconf lost", n, flush=True)
                def update_service(self, zc, t, n): pass
            zc = Zeroconf(interfaces=["192.0.2.2"], ip_version=IPVersion.V4Only)
            ServiceBrowser(zc, "_peercollab._tcp.local.", L())
            time.sleep(float(sys.argv[1]))
            zc.close()
            """
        let zeroconf = try Child(["ip", "netns", "exec", lab.b, "python3", "-c", zeroconfScript, "20"])
        defer { zeroconf.stop() }
        let browser = try lab.child(lab.b, role: "browse", interface: "vB")
        defer { browser.stop(signal: SIGKILL) }

        let found = await browser.waitFor("found Alice", seconds: 60)
        #expect(found != nil, "our browser in B never found the service published in A")
        #expect(found?.1.contains("192.0.2.1") == true)
        #expect(found?.1.contains("2001:db8::1") == true)
        #expect(found?.1.contains("\"pn\": \"Alice\"") == true)
        if let started = await browser.waitFor("browsing", seconds: 1), let found {
            print("measured: browse start to found \(Int(found.0.timeIntervalSince(started.0) * 1000)) ms (parent clock)")
        }
        let zeroconfFound = await zeroconf.waitFor("zeroconf found Alice", seconds: 15)
        #expect(zeroconfFound != nil, "python-zeroconf in B never found the service")
        #expect(zeroconfFound?.1.contains("'pn': 'Alice'") == true)

        let withdrawAt = Date()
        publisher.send("withdraw")
        let lost = await browser.waitFor("lost Alice", seconds: 10)
        #expect(lost != nil, "the goodbye did not make the browser report the service lost")
        if let lost { print("measured: withdraw to lost \(Int(lost.0.timeIntervalSince(withdrawAt) * 1000)) ms") }
    }
}
