import DBus
import Foundation
import PeerCollabAPI
import Testing
import TestSupport

/// Every row of the exit-status table (docs/cli.md, the man page, `--help`), as text and as
/// JSON errors on stderr. Rows 2–5 (`invite --wait`, `wait`) are in PeerCollabCtlPeopleTests.
@Suite struct PeerCollabCtlExitStatusTests {
    @Test func theTableIsTheOneInTheHelp() async throws {
        let help = try await ProcessRunner.run(ProcessRunner.ctlPath, ["--help"])
        #expect(help.status == 0)
        let flat = help.standardOutput.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flat.contains("Exit status: 0 done; 1 refused"), "\(help.standardOutput)")
        #expect(flat.contains("64 the command line is wrong; 69 the bus or the daemon cannot be reached"), "\(help.standardOutput)")
        for group in ["GENERAL", "PEOPLE", "CONTACTS", "PRESENCE", "OBJECTS", "APPS", "INVITATIONS", "TROUBLESHOOTING"] {
            #expect(help.standardOutput.contains("\(group) SUBCOMMANDS:"), "\(group)")
        }
    }

    @Test func zeroOneAndSixtyFourWithADaemon() async throws {
        let host = try await CtlHost()
        // 0
        #expect(try await host.ctl(["status"]).status == 0)
        // 1: refused by the daemon, as text and JSON.
        let refused = try await host.ctl(["set-name", ""])
        #expect(refused.status == 1 && refused.standardError.contains("must not be empty"), "\(refused.standardError)")
        try CtlShape.failure(try await host.ctl(["set-name", "", "--json"]), PeerCollabErrorName.invalidArgument.busName, status: 1, "set-name \"\"")
        // 1: nobody matches (was 64).
        try CtlShape.failure(try await host.ctl(["contact", "show", "nobody", "--json"]), PeerCollabErrorName.notFound.busName, status: 1, "no contact")
        try CtlShape.failure(try await host.ctl(["invite", "nobody", "org.example.App", "--json"]), PeerCollabErrorName.notFound.busName, status: 1, "nobody to invite")
        // 1: several match (was 64).
        for name in ["Fay Smith", "Fay Jones"] { _ = try await host.client.addContact(try ContactCards.person(name).card()) }
        let ambiguous = try await host.ctl(["contact", "show", "fay", "--json"])
        let failure = try CtlShape.failure(ambiguous, Failure.ambiguous, status: 1, "two Fays", candidates: true)
        let candidates = try #require(failure["candidates"] as? [[String: Any]])
        #expect(candidates.count == 2)
        for candidate in candidates { #expect(Set(candidate.keys) == CtlShape.candidate) }
        // 1: a file that cannot be read.
        let unreadable = try await host.ctl(["contact", "add", "/nonexistent/card.vcf", "--json"])
        try CtlShape.failure(unreadable, "org.peercollab.peercollabctl.Error.File", status: 1, "unreadable card")
        // 1: contact verify without a terminal and without --yes.
        try CtlShape.failure(try await host.ctl(["contact", "verify", "fay smith", "--json"]), PeerCollabErrorName.failed.busName, status: 1, "verify without a terminal")
        // 64: the command line is wrong, as text and JSON.
        for arguments in [["help", "bogus"], ["help", "contact", "bogus"], ["bogus"], ["set-name"], ["status", "--bogus"], ["presence", "sleeping"],
                          ["invitations", "policy", "everyone"]] {
            let text = try await host.ctl(arguments)
            #expect(text.status == 64, "\(arguments): \(text.status) \(text.standardError)")
            #expect(!text.standardError.isEmpty)
            try CtlShape.failure(try await host.ctl(arguments + ["--json"]), Failure.usage, status: 64, "\(arguments) --json")
        }
        // help of a verb that exists is output, not a failure.
        let help = try await ProcessRunner.run(ProcessRunner.ctlPath, ["help", "contact", "verify"])
        #expect(help.status == 0 && help.standardOutput.contains("verification code"), "\(help.standardOutput)")
    }

    @Test func sixtyNineWithoutABusOrADaemon() async throws {
        let bus = try PrivateBus()
        let noDaemon = try await ProcessRunner.run(ProcessRunner.ctlPath, ["status", "--bus", bus.address])
        #expect(noDaemon.status == 69)
        #expect(noDaemon.standardError.contains("systemctl --user start peercollab"))
        // It may have stopped on an error that a start would only repeat: the journal says which.
        #expect(noDaemon.standardError.contains("journalctl --user -u peercollab"), "\(noDaemon.standardError)")
        let json = try await ProcessRunner.run(ProcessRunner.ctlPath, ["near", "--json", "--bus", bus.address])
        try CtlShape.failure(json, DBusError.StandardName.serviceUnknown, status: 69, "no daemon --json")
        let noBus = try await ProcessRunner.run(ProcessRunner.ctlPath, ["status", "--json", "--bus", "unix:path=/nonexistent/bus"])
        #expect(noBus.status == 69)
        let object = try CtlShape.object(noBus.standardError, CtlShape.error, "no bus --json")
        #expect((object["message"] as? String)?.contains("Cannot reach") == true)
    }
}

/// docs/cli.md states the JSON shapes in words; they must be the shapes the tests check.
@Suite struct PeerCollabCtlDocsTests {
    @Test func theDocumentedShapesAreTheAPIsPropertiesPlusPath() throws {
        let page = try String(contentsOf: ProcessRunner.repositoryRoot.appendingPathComponent("docs/cli.md"), encoding: .utf8)
        let shapes: [(String, Set<String>)] = [
            ("Manager", CtlShape.manager), ("Peer", CtlShape.peer), ("Contact", CtlShape.contact),
            ("Invitation", CtlShape.invitation), ("Application", CtlShape.application),
        ]
        for (kind, shape) in shapes {
            let row = try #require(page.split(separator: "\n").first { $0.hasPrefix("| \(kind) | `Path`") }, "no row for \(kind)")
            let keys = try #require(row.split(separator: "|").dropFirst().first).split(separator: " and ", maxSplits: 1).last ?? ""
            let listed = Set(keys.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }).union(["Path"])
            #expect(listed == shape, "docs/cli.md lists for \(kind): \(listed.sorted())")
        }
        // The exit statuses of --help are those of the page and the man page.
        let manual = try String(contentsOf: ProcessRunner.repositoryRoot.appendingPathComponent("dist/man/peercollabctl.1.scd"), encoding: .utf8)
        for status in ["0", "1", "2, 3, 4, 5", "64", "69"] {
            #expect(page.contains("| \(status) |"), "docs/cli.md lacks exit status \(status)")
            #expect(manual.contains("\n*\(status)*\n"), "the man page lacks exit status \(status)")
        }
    }
}
