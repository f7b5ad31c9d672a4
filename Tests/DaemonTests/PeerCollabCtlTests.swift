import DBus
import Foundation
import Testing
import TestSupport

/// peercollabctl against a real daemon, as a user types it.
@Suite struct PeerCollabCtlTests {
    let bus: PrivateBus
    let client: DBusConnection

    init() throws {
        bus = try PrivateBus()
        client = try DBusConnection(bus: .address(bus.address))
    }

    func ctl(_ arguments: [String]) async throws -> ProcessRunner.Output {
        try await ProcessRunner.run(ProcessRunner.ctlPath, arguments + ["--bus", bus.address])
    }

    @Test func statusAndSetNameWorkInTextAndJSON() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let renamed = try await ctl(["set-name", "Ada \"the\" Lovelace"])
        #expect(renamed.status == 0, "\(renamed.standardError)")
        let status = try await ctl(["status"])
        #expect(status.status == 0)
        #expect(status.standardOutput.contains("Display name:"))
        #expect(status.standardOutput.contains("Ada \"the\" Lovelace"))
        let json = try await ctl(["status", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect(object["DisplayName"] as? String == "Ada \"the\" Lovelace")
        #expect((object["Version"] as? String)?.isEmpty == false)
    }

    @Test func refusedRequestsExitOneWithTheDaemonsMessage() async throws {
        let daemon = try DaemonProcess(bus: bus)
        try await daemon.waitUntilServing(client)
        let output = try await ctl(["set-name", ""])
        #expect(output.status == 1)
        #expect(output.standardError.contains("must not be empty"))
    }

    @Test func anAbsentDaemonExitsSixtyNineAndSaysWhatToDo() async throws {
        let output = try await ctl(["status"])
        #expect(output.status == 69)
        #expect(output.standardError.contains("systemctl --user start peercollab"))
    }

    @Test func anUnreachableBusExitsSixtyNine() async throws {
        let output = try await ProcessRunner.run(ProcessRunner.ctlPath, ["status", "--bus", "unix:path=/nonexistent/bus"])
        #expect(output.status == 69)
        #expect(output.standardError.contains("Cannot reach"))
    }

    @Test func usageErrorsExitSixtyFourAndCompletionScriptsAreGenerated() async throws {
        let wrong = try await ProcessRunner.run(ProcessRunner.ctlPath, ["set-name"])
        #expect(wrong.status == 64)
        for shell in ["bash", "zsh", "fish"] {
            let script = try await ProcessRunner.run(ProcessRunner.ctlPath, ["--generate-completion-script", shell])
            #expect(script.status == 0)
            #expect(script.standardOutput.contains("set-name"))
        }
    }
}
