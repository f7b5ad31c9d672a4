import Foundation

/// A dbus-daemon of our own, for one test: its address, and its end when the test ends.
final class PrivateBus: Sendable {
    let address: String
    let pid: Int32

    init() throws {
        let output = try ProcessRunner.run(
            "/usr/bin/dbus-daemon", ["--config-file=\(Self.configFile)", "--fork", "--nopidfile", "--print-address=1", "--print-pid=1"])
        let lines = output.standardOutput.split(separator: "\n").map(String.init)
        guard lines.count >= 2, let pid = Int32(lines[1]) else {
            throw TestFailure("dbus-daemon did not print its address and pid: \(output.standardOutput) \(output.standardError)")
        }
        address = lines[0]
        self.pid = pid
    }

    /// A bus someone else runs (a user manager's), which this object does not stop.
    init(existing address: String) {
        self.address = address
        pid = 0
    }

    /// A session bus without the standard service folders: a peercollab installed on this
    /// machine (~/.local/share/dbus-1/services) must not be activated on a test's bus.
    static let configFile: String = {
        let path = NSTemporaryDirectory() + "peercollab-test-session-\(getpid()).conf"
        let config = """
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:tmpdir=/tmp</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
              </policy>
            </busconfig>
            """
        guard FileManager.default.createFile(atPath: path, contents: Data(config.utf8)) else {
            fatalError("cannot write the test bus configuration \(path)")
        }
        return path
    }()

    /// Ends the bus now (also what deinit does).
    func stop() {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
    }

    deinit { stop() }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
