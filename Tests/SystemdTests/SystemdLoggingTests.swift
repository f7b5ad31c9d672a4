import Logging
import Systemd
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@Suite struct SystemdLoggingTests {
    @Test func outsideAJournalStreamLogsGoToPlainStderrEvenWithJournald() throws {
        let socket = try NotifySocket(name: "journal")
        #expect(SystemdLogging.destination(journalSocketPath: socket.path, stderrIsJournalStream: false) == .standardError)
        #expect(SystemdLogging.destination(journalSocketPath: "/nonexistent/socket", stderrIsJournalStream: false) == .standardError)
    }

    @Test func onAJournalStreamWithTheSocketLogsGoToTheJournal() throws {
        let socket = try NotifySocket(name: "journal")
        #expect(SystemdLogging.destination(journalSocketPath: socket.path, stderrIsJournalStream: true) == .journal)
    }

    @Test func onAJournalStreamWithoutTheSocketLinesCarryPriorities() throws {
        let directory = try makeTemporaryDirectory()
        defer { removeTemporaryDirectory(directory, files: ["file"]) }
        let file = open(directory + "/file", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        close(file)
        #expect(SystemdLogging.destination(journalSocketPath: directory + "/missing", stderrIsJournalStream: true) == .journalStream)
        // A regular file where the socket should be is not journald.
        #expect(SystemdLogging.destination(journalSocketPath: directory + "/file", stderrIsJournalStream: true) == .journalStream)
        #expect(SystemdLogging.destination(journalSocketPath: directory, stderrIsJournalStream: true) == .journalStream)
    }

    @Test func theDefaultSocketPathIsJournaldsWhenNoJournaldRuns() {
        let expected: SystemdLogging.Destination = journalSocketExists ? .journal : .journalStream
        #expect(SystemdLogging.destination(stderrIsJournalStream: true) == expected)
    }

    @Test func eachDestinationGetsItsHandler() throws {
        let journal = try #require(
            SystemdLogging.makeHandler(label: "a", identifier: "peercollabd", logLevel: .debug, destination: .journal)
                as? JournalLogHandler)
        #expect(journal.label == "a" && journal.identifier == "peercollabd" && journal.logLevel == .debug)
        let stream = try #require(
            SystemdLogging.makeHandler(label: "b", destination: .journalStream) as? StderrLogHandler)
        #expect(stream.label == "b" && stream.prefixesPriority && stream.logLevel == .info)
        let plain = try #require(
            SystemdLogging.makeHandler(label: "c", logLevel: .warning, destination: .standardError) as? StderrLogHandler)
        #expect(!plain.prefixesPriority && plain.logLevel == .warning)
    }

    @Test func handlersKeepLevelAndMetadataAsValues() {
        var first = Logger(label: "first") { SystemdLogging.makeHandler(label: $0, destination: .standardError) }
        first.logLevel = .debug
        first[metadataKey: "only-on"] = "first"
        var second = first
        second.logLevel = .error
        second[metadataKey: "only-on"] = "second"
        #expect(first.logLevel == .debug && second.logLevel == .error)
        #expect(first[metadataKey: "only-on"] == "first" && second[metadataKey: "only-on"] == "second")
    }

    @Test(arguments: [
        ("trace", Logger.Level.trace), ("DEBUG", .debug), ("Info", .info), ("notice", .notice),
        ("warning", .warning), ("error", .error), ("critical", .critical),
    ])
    func levelNamesParse(name: String, level: Logger.Level) {
        #expect(SystemdLogging.logLevel(named: name) == level)
    }

    @Test(arguments: ["", "verbose", "warn", "6", " info", "info\n"])
    func otherLevelNamesAreRefused(name: String) {
        #expect(SystemdLogging.logLevel(named: name) == nil)
    }
}
