import Foundation

/// A dbus-daemon of our own, for one test: its address, and its end when the test ends.
final class PrivateBus: Sendable {
    let address: String
    let pid: Int32

    init() throws {
        let output = try ProcessRunner.run(
            "/usr/bin/dbus-daemon", ["--session", "--fork", "--nopidfile", "--print-address=1", "--print-pid=1"])
        let lines = output.standardOutput.split(separator: "\n").map(String.init)
        guard lines.count >= 2, let pid = Int32(lines[1]) else {
            throw TestFailure("dbus-daemon did not print its address and pid: \(output.standardOutput) \(output.standardError)")
        }
        address = lines[0]
        self.pid = pid
    }

    /// Ends the bus now (also what deinit does).
    func stop() {
        kill(pid, SIGTERM)
    }

    deinit { stop() }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
