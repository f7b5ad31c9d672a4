import ArgumentParser

/// The exit statuses peercollabctl documents (its help, the man page, docs/cli.md). One table:
///
/// | status | meaning |
/// | --- | --- |
/// | 0 | done |
/// | 1 | refused: the daemon said no, nobody or several people match a name, a file cannot be read, `doctor` found a problem |
/// | 2, 3, 4, 5 | `invite --wait`: declined, expired, cancelled, failed |
/// | 64 | the command line is wrong (unknown verb or option, missing or malformed argument) |
/// | 69 | no bus, or the daemon is not running and could not be started, or it went away (`watch`) |
enum ExitStatus {
    static let success: Int32 = 0
    /// The request was refused: by the daemon, or because what was named is not there.
    static let refused: Int32 = 1
    /// sysexits' EX_USAGE.
    static let usage: Int32 = 64
    /// sysexits' EX_UNAVAILABLE: no bus, or the daemon is not running and could not be started.
    static let unavailable: Int32 = 69

    /// The table as the help and the man page print it.
    static let table = """
        Exit status: 0 done; 1 refused (the daemon said no, a name matches nobody or several \
        people, a file cannot be read, doctor found a problem); 2 declined, 3 expired, \
        4 cancelled, 5 failed (invite --wait); 64 the command line is wrong; 69 the bus or \
        the daemon cannot be reached, or the daemon went away (watch).
        """
}
