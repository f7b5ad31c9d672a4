import CSystemd
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A swift-log backend that writes structured entries to journald over its native protocol.
///
/// Each entry carries `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER`, `LOGGER` (the logger's label),
/// `CODE_FILE`/`CODE_LINE`/`CODE_FUNC`, and every metadata key as an upper-case field, so
/// `journalctl PEER=…` finds the lines of one peer. An entry journald refuses is written to
/// stderr instead, so nothing is lost silently.
public struct JournalLogHandler: LogHandler {
    /// The logger's label, sent as `LOGGER`.
    public let label: String
    /// The program name, sent as `SYSLOG_IDENTIFIER` (what `journalctl -t` matches).
    public let identifier: String
    /// The lowest level this handler writes.
    public var logLevel: Logger.Level
    /// Metadata added to every entry of this handler.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata (for example task-local) added to every entry.
    public var metadataProvider: Logger.MetadataProvider?

    /// A handler for the logger `label` of the program `identifier`.
    public init(
        label: String,
        identifier: String = SystemdLogging.programName,
        logLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.identifier = identifier
        self.logLevel = logLevel
        self.metadataProvider = metadataProvider
    }

    /// Looks up or sets one metadata value of this handler.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Sends `event` to the journal, or to stderr when the journal refuses it.
    public func log(event: LogEvent) {
        let context = SystemdLogging.contextMetadata(handler: metadata, provider: metadataProvider)
        let fields = Self.fields(for: event, label: label, identifier: identifier, metadata: context)
        let result = Self.send(fields)
        if result < 0 {
            let line = StderrLogHandler.format(event, label: label, metadata: context, prefixesPriority: false)
            StderrLogHandler.writeToStandardError(line)
        }
    }

    /// The `FIELD=value` strings of one journal entry, in the order they are sent.
    ///
    /// `metadata` is the handler's context; the event's own metadata overrides it key by key,
    /// and an error attached to the event becomes `ERROR` unless metadata already names one.
    /// Metadata follows the fixed fields, sorted by field name.
    public static func fields(
        for event: LogEvent,
        label: String,
        identifier: String,
        metadata: Logger.Metadata = [:]
    ) -> [String] {
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(event.level.syslogPriority)",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "LOGGER=\(label)",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
        ]
        let merged = SystemdLogging.eventMetadata(event, context: metadata)
        // Two keys may sanitise to one name ("peer-id", "peer_id"); journald keeps both values.
        let named = merged.map { (name: fieldName(forMetadataKey: $0.key), key: $0.key, value: $0.value) }
        for entry in named.sorted(by: { ($0.name, $0.key) < ($1.name, $1.key) }) {
            fields.append("\(entry.name)=\(entry.value)")
        }
        return fields
    }

    /// Fields this handler writes itself; metadata may not overwrite them.
    static let ownFieldNames: Set<String> = [
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "LOGGER", "CODE_FILE", "CODE_LINE", "CODE_FUNC",
    ]

    /// The journal field name for a metadata key.
    ///
    /// Journal field names are `[A-Z0-9_]`, at most 64 long, may not start with a digit, and
    /// a leading `_` marks fields only journald may set. So letters are upper-cased, anything
    /// else becomes `_`, leading `_` are dropped, and a name that would start with a digit,
    /// be empty, or collide with a field this handler writes gets the prefix `META_`.
    public static func fieldName(forMetadataKey key: String) -> String {
        var name = ""
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): name.append(Character(Unicode.Scalar(byte - 32)))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                name.append(Character(Unicode.Scalar(byte)))
            default:
                // Each byte of a multi-byte character becomes one `_`: keys stay distinguishable by length.
                if !name.isEmpty { name.append("_") }
            }
        }
        if name.isEmpty { return "META" }
        if name.first!.isNumber || ownFieldNames.contains(name) { name = "META_" + name }
        return String(name.prefix(64))
    }

    /// Hands the fields to journald as one datagram; returns what `sd_journal_sendv` returned.
    static func send(_ fields: [String]) -> Int32 {
        var bytes: [UInt8] = []
        var spans: [(start: Int, count: Int)] = []
        for field in fields {
            let start = bytes.count
            bytes.append(contentsOf: field.utf8)
            spans.append((start, bytes.count - start))
        }
        return bytes.withUnsafeMutableBytes { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -EINVAL }
            // libsystemd switches to its length-prefixed encoding for values with newlines,
            // so multi-line messages stay one entry.
            var vectors = spans.map { iovec(iov_base: base + $0.start, iov_len: $0.count) }
            return sd_journal_sendv(&vectors, Int32(vectors.count))
        }
    }
}

extension Logger.Level {
    /// The syslog priority (0 emerg … 7 debug) journald stores for this level.
    public var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
