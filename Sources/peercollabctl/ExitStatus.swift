import ArgumentParser

/// The exit statuses peercollabctl documents in its help.
enum ExitStatus {
    /// The daemon answered with an error: the request itself was refused.
    static let refused = ExitCode(1)
    /// sysexits' EX_UNAVAILABLE: no bus, or the daemon is not running and could not be started.
    static let unavailable = ExitCode(69)
}
