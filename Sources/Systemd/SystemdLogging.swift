import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Chooses where a systemd service's logs go and installs the matching swift-log backend.
///
/// Like systemd's own daemons (`LOG_TARGET_AUTO`), the journal's native protocol is used only
/// when stderr already goes to the journal: a daemon started from a terminal on a machine
/// with journald keeps printing to that terminal.
public enum SystemdLogging {
    /// Where journald listens for native-protocol entries.
    public static let journalSocketPath = "/run/systemd/journal/socket"

    /// The environment variable that overrides the default log level (`trace` … `critical`).
    public static let logLevelVariable = "PEERCOLLAB_LOG_LEVEL"

    /// Where log entries go.
    public enum Destination: Sendable, Hashable {
        /// Structured entries through `sd_journal_sendv` (``JournalLogHandler``).
        case journal
        /// Lines on stderr, which is connected to journald: each starts with `<N>`.
        case journalStream
        /// Plain lines on stderr.
        case standardError
    }

    /// The destination for this process: the journal when stderr is a journal stream and the
    /// journal socket exists, `<N>`-prefixed stderr when only the stream exists, plain stderr
    /// otherwise.
    public static func destination(
        journalSocketPath: String = journalSocketPath,
        stderrIsJournalStream: Bool = JournalStream.isStandardErrorJournalStream
    ) -> Destination {
        guard stderrIsJournalStream else { return .standardError }
        return isSocket(journalSocketPath) ? .journal : .journalStream
    }

    /// A handler for the logger `label` writing to `destination`.
    public static func makeHandler(
        label: String,
        identifier: String = programName,
        logLevel: Logger.Level = .info,
        destination: Destination = destination(),
        metadataProvider: Logger.MetadataProvider? = nil
    ) -> any LogHandler {
        switch destination {
        case .journal:
            JournalLogHandler(
                label: label, identifier: identifier, logLevel: logLevel, metadataProvider: metadataProvider)
        case .journalStream, .standardError:
            StderrLogHandler(
                label: label, logLevel: logLevel, prefixesPriority: destination == .journalStream,
                metadataProvider: metadataProvider)
        }
    }

    /// The level named by `value` (`trace`, `debug`, `info`, `notice`, `warning`, `error`,
    /// `critical`, any case), nil for anything else.
    public static func logLevel(named value: String) -> Logger.Level? {
        Logger.Level(rawValue: value.lowercased())
    }

    /// Installs the backend for this process in `LoggingSystem`; call once, first thing.
    ///
    /// The level is `PEERCOLLAB_LOG_LEVEL` when set to a level name, else `defaultLevel`; a
    /// value that names no level is reported as a warning through the new backend.
    public static func bootstrap(
        identifier: String = programName,
        defaultLevel: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        let requested = getenv(logLevelVariable).map { String(cString: $0) }
        let level = requested.flatMap(logLevel(named:)) ?? defaultLevel
        let destination = destination()
        LoggingSystem.bootstrap(
            { label, provider in
                makeHandler(
                    label: label, identifier: identifier, logLevel: level, destination: destination,
                    metadataProvider: provider)
            },
            metadataProvider: metadataProvider
        )
        if let requested, logLevel(named: requested) == nil {
            Logger(label: "systemd.logging").warning(
                "Ignoring \(logLevelVariable)=\(requested): use one of trace, debug, info, notice, warning, error, critical",
                metadata: ["level": "\(level)"]
            )
        }
    }

    /// The name this program was started as, the default `SYSLOG_IDENTIFIER`.
    public static var programName: String {
        guard let path = CommandLine.arguments.first, !path.isEmpty else { return "peercollab" }
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    /// The handler's metadata under the provider's, as swift-log orders them.
    static func contextMetadata(
        handler: Logger.Metadata,
        provider: Logger.MetadataProvider?
    ) -> Logger.Metadata {
        guard let provided = provider?.get(), !provided.isEmpty else { return handler }
        return handler.merging(provided) { $1 }
    }

    /// The metadata of one entry: the context under the event's own, plus `error` for an
    /// attached error unless the caller already set that key.
    static func eventMetadata(_ event: LogEvent, context: Logger.Metadata) -> Logger.Metadata {
        var merged = context
        if let own = event.metadata { merged.merge(own) { $1 } }
        if let error = event.error, merged["error"] == nil { merged["error"] = "\(error)" }
        return merged
    }

    private static func isSocket(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0 else { return false }
        return status.st_mode & S_IFMT == S_IFSOCK
    }
}
