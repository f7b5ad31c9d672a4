import DBus
import Foundation
import PeerCollabAPI
import Testing
import TestSupport

/// Shell completion of live names: bash's completion function, as a Tab press runs it,
/// completes from the running daemon, and completes nothing (quickly) without one.
@Suite struct PeerCollabCtlCompletionTests {
    /// What bash offers for `WORDS… <Tab>` (the last word is the one completed).
    func complete(_ words: [String], bus: String) async throws -> [String] {
        let script = try await ProcessRunner.run(ProcessRunner.ctlPath, ["--generate-completion-script", "bash"])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("completion-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("peercollabctl.bash")
        try script.standardOutput.write(to: file, atomically: true, encoding: .utf8)
        let quoted = words.map { "'\($0)'" }.joined(separator: " ")
        let driver = """
            source '\(file.path)'
            COMP_WORDS=(peercollabctl \(quoted))
            COMP_CWORD=\(words.count)
            COMP_LINE="${COMP_WORDS[*]}"
            COMP_POINT=${#COMP_LINE}
            _peercollabctl peercollabctl '\(words.last ?? "")' '\(words.dropLast().last ?? "peercollabctl")'
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        var environment = ProcessInfo.processInfo.environment
        environment["DBUS_SESSION_BUS_ADDRESS"] = bus
        environment["PATH"] = ProcessRunner.productsDirectory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let output = try await ProcessRunner.run("/bin/bash", ["-c", driver], environment: environment, timeout: .seconds(20))
        #expect(output.status == 0, "\(output.standardError)")
        return output.standardOutput.split(separator: "\n").map(String.init)
    }

    @Test func bashCompletesPeopleContactsInvitationsAndApplicationsFromTheDaemon() async throws {
        let a = try await CtlHost(name: "Ada")
        let b = try await CtlHost(name: "Babbage")
        try await a.connect(to: b)
        let nameB = try await b.peerName
        let fay = try ContactCards.person("Fay Smith")
        _ = try await a.client.addContact(fay.card())
        #expect(try await a.ctl(["contact", "nick", "fay", "Fifi"]).status == 0)
        #expect(try await a.ctl(["app", "register", "org.example.Chat", "--name", "Chat"]).status == 0)
        #expect(try await b.ctl(["app", "register", "org.example.Chat", "--name", "Chat"]).status == 0)
        let sent = try await a.ctl(["invite", "Babbage", "org.example.Chat", "--json"])
        let id = try #require(try CtlShape.object(sent.standardOutput, CtlShape.invitation, "invite")["Id"] as? String)

        let people = try await complete(["invite", ""], bus: a.bus.address)
        #expect(Set(people).isSuperset(of: [nameB, "Babbage", fay.peerName, "Fifi"]), "\(people)")
        #expect(!people.contains("Fay Smith"), "a name with a space is typed by peer name: \(people)")
        #expect(try await complete(["invite", "Fi"], bus: a.bus.address) == ["Fifi"])
        let contacts = try await complete(["contact", "show", ""], bus: a.bus.address)
        #expect(Set(contacts) == [fay.peerName, "Fifi"], "contacts only: \(contacts)")
        #expect(try await complete(["accept", ""], bus: a.bus.address) == [id])
        #expect(try await complete(["app", "unregister", ""], bus: a.bus.address) == ["org.example.Chat"])
        #expect(try await complete(["invite", "Babbage", "org.ex"], bus: a.bus.address) == ["org.example.Chat"])
    }

    @Test func withoutADaemonNothingIsCompletedAndNothingIsStarted() async throws {
        let bus = try PrivateBus()
        #expect(try await complete(["invite", ""], bus: bus.address).isEmpty)
        #expect(try await complete(["accept", ""], bus: "unix:path=/nonexistent/bus").isEmpty)
        let client = try DBusConnection(bus: .address(bus.address))
        #expect(try await client.nameOwner(PeerCollabBus.serviceName) == nil)
    }
}
