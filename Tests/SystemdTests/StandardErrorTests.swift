import Logging
@testable import Systemd
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension ProcessEnvironmentTests {
    /// The handlers' real writes to fd 2, with fd 2 pointed at a file for a moment.
    @Suite struct StandardErrorTests {
        static let label = capturedLabel

        @Test func stderrNamedByJournalStreamGetsPriorityPrefixedLines() async throws {
            let captured = try await captureStandardError { stream in
                try await withEnvironment(["JOURNAL_STREAM": stream]) { () async throws in
                    #expect(JournalStream.isStandardErrorJournalStream)
                    let handler = StderrLogHandler(label: Self.label)
                    #expect(handler.prefixesPriority)
                    if !journalSocketExists {
                        #expect(SystemdLogging.destination() == .journalStream)
                    }
                    var logger = Logger(label: Self.label) { _ in handler }
                    logger[metadataKey: "peer"] = "alice"
                    logger.info("Online")
                    logger.debug("Below the level, not written")
                    logger.critical("Store unreadable", metadata: ["path": "/var/lib/x y"])
                }
            }
            #expect(
                captured == "<6>info \(Self.label): Online peer=alice\n"
                    + "<2>critical \(Self.label): Store unreadable path=\"/var/lib/x y\" peer=alice\n")
        }

        @Test func aJournalStreamOfAnotherFileDoesNotCount() async throws {
            let captured = try await captureStandardError { _ in
                try await withEnvironment(["JOURNAL_STREAM": "1:1"]) { () async throws in
                    #expect(!JournalStream.isStandardErrorJournalStream)
                    #expect(SystemdLogging.destination() == .standardError)
                    Logger(label: Self.label) { StderrLogHandler(label: $0) }.warning("Plain")
                }
            }
            #expect(captured == "warning \(Self.label): Plain\n")
        }

        @Test func withoutJournalStreamLinesArePlain() async throws {
            let captured = try await captureStandardError { _ in
                try await withEnvironment(["JOURNAL_STREAM": nil]) { () async throws in
                    #expect(SystemdLogging.destination() == .standardError)
                    let logger = Logger(label: Self.label) { SystemdLogging.makeHandler(label: $0) }
                    logger.notice("Started", metadata: ["version": "1.0"])
                }
            }
            #expect(captured == "notice \(Self.label): Started version=1.0\n")
        }
    }
}

/// The label of every logger whose lines `captureStandardError` keeps.
let capturedLabel = "stderr-capture-test"

/// Runs `body` with fd 2 writing to a fresh file, passing the file's `JOURNAL_STREAM` value, and
/// returns this test's lines from it; lines other tests wrote meanwhile go on to the real stderr.
func captureStandardError(_ body: (String) async throws -> Void) async throws -> String {
    let directory = try makeTemporaryDirectory()
    defer { removeTemporaryDirectory(directory, files: ["stderr"]) }
    let file = open(directory + "/stderr", O_CREAT | O_RDWR | O_APPEND | O_CLOEXEC, 0o600)
    try #require(file >= 0)
    defer { close(file) }
    var status = stat()
    try #require(fstat(file, &status) == 0)
    fflush(nil)
    let saved = dup(STDERR_FILENO)
    try #require(saved >= 0)
    dup2(file, STDERR_FILENO)
    do {
        try await body("\(status.st_dev):\(status.st_ino)")
    } catch {
        dup2(saved, STDERR_FILENO)
        close(saved)
        throw error
    }
    fflush(nil)
    dup2(saved, STDERR_FILENO)
    close(saved)

    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    lseek(file, 0, SEEK_SET)
    // Bounded by the file's size: read returns 0 at its end.
    while true {
        let count = chunk.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes += chunk[..<count]
    }
    var ours = ""
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
        if line.contains(capturedLabel) {
            ours += line + "\n"
        } else {
            StderrLogHandler.writeToStandardError(String(line) + "\n")
        }
    }
    return ours
}
