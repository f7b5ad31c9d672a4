import DBus
import PeerCollabAPI

/// Why an invited application could not be started, in words the user can act on.
///
/// The message names the application and what was wrong ("org.example.Foo: /usr/bin/foo: no
/// such file"); the code lets the invitation state machine choose its own reaction.
struct LaunchError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure, stable for callers to match on.
    enum Code: String, Sendable, CaseIterable {
        /// The request itself is unusable: a bad application id, an empty command line.
        case invalidRequest
        /// No desktop entry of that id in any applications folder.
        case desktopEntryNotFound
        /// The desktop entry exists but cannot be used (no Exec, bad quoting, not an application).
        case invalidDesktopEntry
        /// The program is not on disk, not executable, or not on PATH.
        case programNotFound
        /// The program was found but did not start (exec failed, systemd refused or failed the job).
        case startFailed
        /// systemd did not finish starting the unit within the wait.
        case timeout
    }

    let code: Code
    let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { message }

    static func invalidRequest(_ message: String) -> Self { .init(.invalidRequest, message) }
    static func desktopEntryNotFound(_ message: String) -> Self { .init(.desktopEntryNotFound, message) }
    static func invalidDesktopEntry(_ message: String) -> Self { .init(.invalidDesktopEntry, message) }
    static func programNotFound(_ message: String) -> Self { .init(.programNotFound, message) }
    static func startFailed(_ message: String) -> Self { .init(.startFailed, message) }
    static func timeout(_ message: String) -> Self { .init(.timeout, message) }
}

extension LaunchError: DBusErrorConvertible {
    /// The API's error for this failure (docs/dbus-api.md, Errors), for `Accept()` to reply with.
    var dbusError: DBusError {
        let name: PeerCollabErrorName =
            switch code {
            case .invalidRequest, .invalidDesktopEntry: .invalidArgument
            case .desktopEntryNotFound, .programNotFound: .notFound
            case .startFailed: .failed
            case .timeout: .timeout
            }
        return DBusError(name: name.busName, message: message)
    }
}
