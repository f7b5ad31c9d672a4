import DBus
import Foundation
import PeerCollabAPI
import TestSupport

/// One peercollabd on a private bus, with its own folders, as a test drives it.
final class DaemonProcess: Sendable {
    let process: Subprocess
    let bus: PrivateBus
    let home: URL
    let logURL: URL

    static let service = PeerCollabBus.serviceName
    static let root = try! DBusObjectPath(PeerCollabBus.rootPath)
    static let manager = PeerCollabBus.Interface.manager

    var configDirectory: URL { home.appendingPathComponent("config") }
    var dataDirectory: URL { home.appendingPathComponent("data") }

    /// Starts the daemon; `waitUntilServing()` waits for its name.
    /// `prefix` runs it through another program first (such as `ip netns exec NS`);
    /// `environment` adds to (or overrides) what it inherits. `defaultPort`: no `--port`
    /// (the daemon's own choice: the kept port, else 46773), for namespaces only.
    init(
        bus: PrivateBus, home: URL? = nil, extraArguments: [String] = [], prefix: [String] = [],
        environment extraEnvironment: [String: String] = [:], defaultPort: Bool = false
    ) throws {
        self.bus = bus
        self.home = try home ?? FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        logURL = self.home.appendingPathComponent("daemon.log")
        let daemonArguments = [
            "--bus", bus.address, "--config-dir", self.home.appendingPathComponent("config").path,
            "--data-dir", self.home.appendingPathComponent("data").path,
        ] + (extraArguments.contains("--port") || defaultPort ? [] : ["--listen", "127.0.0.1", "--port", "0"])
            // Outside a lab's namespaces, discovery may only ever use loopback.
            + (prefix.isEmpty && !extraArguments.contains("--interfaces") ? ["--interfaces", "lo"] : [])
            + extraArguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.removeValue(forKey: "WATCHDOG_USEC")
        environment["PEERCOLLAB_LOG_LEVEL"] = "debug"
        environment.merge(extraEnvironment) { _, new in new }
        process = try Subprocess(
            prefix.first ?? ProcessRunner.daemonPath,
            prefix.isEmpty ? daemonArguments : Array(prefix.dropFirst()) + [ProcessRunner.daemonPath] + daemonArguments,
            environment: environment, captureOutput: false,
            outputFile: logURL.path)
    }

    var pid: Int32 { process.pid }
    var isRunning: Bool { process.isRunning }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Waits (bounded) until the daemon owns its name on the bus.
    func waitUntilServing(_ client: DBusConnection, timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await client.nameOwner(Self.service) != nil { return }
            guard process.isRunning else {
                throw TestFailure("peercollabd exited with \(process.terminationStatus ?? -1) before owning its name:\n\(log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("peercollabd did not own \(Self.service) within \(timeout):\n\(log)")
    }

    /// Waits (bounded) for the process to end and returns its status.
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw TestFailure("peercollabd did not exit within \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus ?? -1
    }

    func signal(_ number: Int32) { process.signal(number) }
}

/// Waits for the first element of a stream that satisfies `predicate`, or fails after `timeout`.
func firstElement<T: Sendable>(
    of stream: AsyncStream<T>, within timeout: Duration = .seconds(10), what: String,
    where predicate: @escaping @Sendable (T) -> Bool = { _ in true }
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            for await element in stream where predicate(element) { return element }
            return nil
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let result = try await group.next(), let element = result else {
            throw TestFailure("never happened within \(timeout): \(what)")
        }
        return element
    }
}
