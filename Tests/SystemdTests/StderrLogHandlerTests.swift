import Logging
import Systemd
import Testing

@Suite struct StderrLogHandlerTests {
    @Test func aLineIsLevelLabelMessageAndSortedMetadata() {
        let line = StderrLogHandler.format(
            event(.info, "Started", metadata: ["unit": "peercollab.service", "pid": "42"]),
            label: "peercollabd", prefixesPriority: false)
        #expect(line == "info peercollabd: Started pid=42 unit=peercollab.service\n")
    }

    @Test func withoutMetadataTheLineEndsAtTheMessage() {
        let line = StderrLogHandler.format(event(.debug, "Tick"), label: "l", prefixesPriority: false)
        #expect(line == "debug l: Tick\n")
    }

    @Test func eventMetadataOverridesContextAndAnErrorIsPrinted() {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused" } }
        let line = StderrLogHandler.format(
            event(.error, "Call failed", metadata: ["peer": "bob"], error: Refused()),
            label: "l", metadata: ["peer": "alice", "bus": "session"], prefixesPriority: false)
        #expect(line == "error l: Call failed bus=session error=refused peer=bob\n")
    }

    @Test func anExplicitErrorKeyWinsOverTheAttachedError() {
        struct Refused: Error {}
        let line = StderrLogHandler.format(
            event(.error, "x", metadata: ["error": "mine"], error: Refused()), label: "l", prefixesPriority: false)
        #expect(line == "error l: x error=mine\n")
    }

    @Test(arguments: [
        ("plain", "plain"),
        ("", "\"\""),
        ("two words", "\"two words\""),
        ("say \"hi\"", "\"say \\\"hi\\\"\""),
        ("a=b", "\"a=b\""),
        ("back\\slash", "\"back\\\\slash\""),
        ("line\nnext", "\"line\\nnext\""),
        ("tab\there", "\"tab\\there\""),
        ("bell\u{7}", "\"bell\\u{7}\""),
        ("del\u{7F}", "\"del\\u{7f}\""),
        ("grüße", "grüße"),
    ])
    func valuesThatWouldBreakKeyValueParsingAreQuoted(value: String, printed: String) {
        let line = StderrLogHandler.format(
            event(.info, "m", metadata: ["v": .string(value)]), label: "l", prefixesPriority: false)
        #expect(line == "info l: m v=\(printed)\n")
    }

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func onAJournalStreamEachLineStartsWithItsPriority(level: Logger.Level, priority: Int) {
        let line = StderrLogHandler.format(event(level, "m"), label: "l", prefixesPriority: true)
        #expect(line == "<\(priority)>\(level) l: m\n")
    }

    @Test func aMultiLineMessageKeepsItsPriorityOnEveryLine() {
        let text = StderrLogHandler.format(
            event(.warning, "Handshake failed\nat step 2", metadata: ["peer": "bob"]),
            label: "l", prefixesPriority: true)
        #expect(text == "<4>warning l: Handshake failed\n<4>at step 2 peer=bob\n")
    }

    @Test func aMessageCannotForgeAHigherPriority() {
        let text = StderrLogHandler.format(event(.debug, "<0>panic\n<0>panic"), label: "l", prefixesPriority: true)
        #expect(text == "<7>debug l: <0>panic\n<7><0>panic\n")
    }
}
