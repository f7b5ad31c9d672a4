import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A swift-log backend that writes one `level label: message key=value` line per entry to stderr.
///
/// When stderr is a journal stream (the unit's output goes to journald but the native socket
/// is not used) every line starts with `<N>`, the syslog priority, so journald still files
/// the entry at the right priority.
public struct StderrLogHandler: LogHandler {
    /// The logger's label, printed before the message.
    public let label: String
    /// Whether each line starts with `<N>` for journald's stream parser.
    public let prefixesPriority: Bool
    /// The lowest level this handler writes.
    public var logLevel: Logger.Level
    /// Metadata added to every line of this handler.
    public var metadata: Logger.Metadata = [:]
    /// Contextual metadata (for example task-local) added to every line.
    public var metadataProvider: Logger.MetadataProvider?

    /// A handler for the logger `label`; by default it prefixes priorities exactly when stderr
    /// is connected to the journal.
    public init(
        label: String,
        logLevel: Logger.Level = .info,
        prefixesPriority: Bool = JournalStream.isStandardErrorJournalStream,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.logLevel = logLevel
        self.prefixesPriority = prefixesPriority
        self.metadataProvider = metadataProvider
    }

    /// Looks up or sets one metadata value of this handler.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes `event` to stderr as one line (more when the message has several).
    public func log(event: LogEvent) {
        let context = SystemdLogging.contextMetadata(handler: metadata, provider: metadataProvider)
        Self.writeToStandardError(Self.format(event, label: label, metadata: context, prefixesPriority: prefixesPriority))
    }

    /// The text written for `event`, ending in a newline.
    ///
    /// `metadata` is the handler's context; the event's own metadata overrides it key by key,
    /// and an error attached to the event appears as `error=`. Keys are sorted so equal
    /// entries print equally. A value with spaces, quotes, `=` or control characters is
    /// quoted so the `key=value` pairs stay parseable. With `prefixesPriority` every line of a
    /// multi-line message starts with `<N>`, because journald reads each line as an entry.
    public static func format(
        _ event: LogEvent,
        label: String,
        metadata: Logger.Metadata = [:],
        prefixesPriority: Bool
    ) -> String {
        var text = "\(event.level) \(label): \(event.message)"
        let merged = SystemdLogging.eventMetadata(event, context: metadata)
        for key in merged.keys.sorted() {
            text += " \(key)=\(quoted(merged[key]!.description))"
        }
        guard prefixesPriority else { return text + "\n" }
        let prefix = "<\(event.level.syslogPriority)>"
        var lines = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lines += prefix + line + "\n"
        }
        return lines
    }

    /// `value` as is when it is one plain word, otherwise in double quotes with escapes.
    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value != 0x7F && scalar != "\"" && scalar != "=" && scalar != "\\"
        }
        if plain { return value }
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// Writes `text` to fd 2 with as few `write` calls as the kernel allows, so lines from
    /// several threads do not interleave mid-line.
    static func writeToStandardError(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
