import Logging
@testable import Systemd
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

func event(
    _ level: Logger.Level = .info,
    _ message: Logger.Message,
    metadata: Logger.Metadata? = nil,
    error: (any Error)? = nil
) -> LogEvent {
    LogEvent(
        level: level, message: message, error: error, metadata: metadata, source: "Daemon",
        file: "peercollabd/Daemon.swift", function: "run()", line: 42)
}

let journalSocketExists = access(SystemdLogging.journalSocketPath, F_OK) == 0

@Suite struct JournalLogHandlerTests {
    @Test func anEntryCarriesMessagePriorityIdentifierLabelAndCode() {
        let fields = JournalLogHandler.fields(
            for: event(.notice, "Peer alice is online", metadata: ["peer": "alice"]),
            label: "org.peercollab.presence", identifier: "peercollabd")
        #expect(
            fields == [
                "MESSAGE=Peer alice is online",
                "PRIORITY=5",
                "SYSLOG_IDENTIFIER=peercollabd",
                "LOGGER=org.peercollab.presence",
                "CODE_FILE=peercollabd/Daemon.swift",
                "CODE_LINE=42",
                "CODE_FUNC=run()",
                "PEER=alice",
            ])
    }

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func levelsMapToSyslogPriorities(level: Logger.Level, priority: Int) {
        #expect(level.syslogPriority == priority)
        let fields = JournalLogHandler.fields(for: event(level, "x"), label: "l", identifier: "i")
        #expect(fields[1] == "PRIORITY=\(priority)")
    }

    @Test func aMultiLineMessageStaysOneField() {
        let fields = JournalLogHandler.fields(
            for: event(.error, "Handshake failed\n  at step 2\n"), label: "l", identifier: "i")
        #expect(fields.first == "MESSAGE=Handshake failed\n  at step 2\n")
        #expect(fields.filter { $0.hasPrefix("MESSAGE=") }.count == 1)
    }

    @Test func eventMetadataOverridesContextAndAnErrorBecomesAField() {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused by peer" } }
        let fields = JournalLogHandler.fields(
            for: event(.warning, "x", metadata: ["peer": "bob", "attempt": "2"], error: Refused()),
            label: "l", identifier: "i", metadata: ["peer": "alice", "unit": "peercollab.service"])
        #expect(Array(fields.dropFirst(7)) == ["ATTEMPT=2", "ERROR=refused by peer", "PEER=bob", "UNIT=peercollab.service"])
    }

    @Test func metadataValuesKeepTheirDescription() {
        let fields = JournalLogHandler.fields(
            for: event(.info, "x", metadata: ["peers": ["alice", "bob"], "port": .stringConvertible(5353)]),
            label: "l", identifier: "i")
        #expect(Array(fields.dropFirst(7)) == ["PEERS=[\"alice\", \"bob\"]", "PORT=5353"])
    }

    @Test(arguments: [
        ("peer", "PEER"),
        ("peer-id", "PEER_ID"),
        ("invitation.id", "INVITATION_ID"),
        ("Peer Name", "PEER_NAME"),
        ("_SYSTEMD_UNIT", "SYSTEMD_UNIT"),
        ("__pid", "PID"),
        ("2fa", "META_2FA"),
        ("message", "META_MESSAGE"),
        ("PRIORITY", "META_PRIORITY"),
        ("code_line", "META_CODE_LINE"),
        ("syslog_identifier", "META_SYSLOG_IDENTIFIER"),
        ("message_id", "MESSAGE_ID"),
        ("", "META"),
        ("___", "META"),
        ("é", "META"),
        ("café", "CAF__"),
        ("a=b", "A_B"),
        ("a\nMESSAGE", "A_MESSAGE"),
    ])
    func metadataKeysBecomeValidFieldNames(key: String, field: String) {
        #expect(JournalLogHandler.fieldName(forMetadataKey: key) == field)
    }

    @Test func everyKeyBecomesAFieldNameJournaldAccepts() {
        var keys = [String(repeating: "k", count: 200), String(repeating: "9", count: 70), "\u{0}", "=", "\u{FFFF}x"]
        // A deterministic spread of awkward keys: every byte value, alone and around letters.
        for byte in UInt8.min...UInt8.max {
            let scalar = String(Character(Unicode.Scalar(byte)))
            keys += [scalar, scalar + "a", "a" + scalar, "1" + scalar]
        }
        for key in keys {
            let name = JournalLogHandler.fieldName(forMetadataKey: key)
            #expect(isValidJournalFieldName(name), "\(key.debugDescription) became \(name)")
        }
    }

    @Test(.enabled(if: !journalSocketExists, "journald is running here"))
    func withoutJournaldLibsystemdDropsEntriesSilently() {
        // sd_journal_sendv treats a missing socket as success (ENOENT → 0), so only
        // SystemdLogging.destination's check of the socket keeps such entries from vanishing.
        #expect(JournalLogHandler.send(["MESSAGE=probe", "PRIORITY=7"]) == 0)
    }

    @Test func aRefusedEntryIsReportedSoTheHandlerCanFallBack() {
        #expect(JournalLogHandler.send(["MESSAGE=probe", "no assignment"]) == -EINVAL)
        #expect(JournalLogHandler.send(["=starts with equals"]) == -EINVAL)
        #expect(JournalLogHandler.send([]) < 0)
    }

    @Test(.enabled(if: journalSocketExists, "no journald runs here"))
    func journaldAcceptsAnEntry() {
        let fields = JournalLogHandler.fields(
            for: event(.debug, "peercollab SystemdTests probe\nsecond line", metadata: ["peer-id": "test"]),
            label: "SystemdTests", identifier: "SystemdTests")
        #expect(JournalLogHandler.send(fields) == 0)
    }
}

/// journald's rule: `[A-Z0-9_]`, 1…64 long, not starting with `_` or a digit.
func isValidJournalFieldName(_ name: String) -> Bool {
    let bytes = Array(name.utf8)
    guard let first = bytes.first, bytes.count <= 64 else { return false }
    guard first >= UInt8(ascii: "A") && first <= UInt8(ascii: "Z") else { return false }
    return bytes.allSatisfy {
        ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
            || $0 == UInt8(ascii: "_")
    }
}
