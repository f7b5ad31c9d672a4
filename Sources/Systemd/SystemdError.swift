#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failure to talk to the service manager or the journal, with what the system said.
public struct SystemdError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of exchange with systemd failed.
    public enum Code: Sendable, Hashable {
        /// `sd_notify` could not deliver a state change to `NOTIFY_SOCKET`.
        case notifyFailed
        /// `WATCHDOG_USEC` or `WATCHDOG_PID` holds a value that is not a valid setting.
        case invalidWatchdogSetting
        /// `sd_journal_sendv` could not hand an entry to journald.
        case journalSendFailed
    }

    /// What kind of exchange failed.
    public let code: Code
    /// The errno libsystemd returned (positive), 0 when none applies.
    public let errno: Int32
    /// A sentence for a user: what failed and what to check.
    public let message: String

    /// The message followed by the system's reason.
    public var description: String {
        guard errno != 0 else { return message }
        return "\(message): \(Self.reason(errno)) (errno \(errno))"
    }

    private init(code: Code, errno: Int32, message: String) {
        self.code = code
        self.errno = errno
        self.message = message
    }

    /// `sd_notify` returned `-errno` while sending `state`.
    public static func notifyFailed(state: String, errno: Int32) -> SystemdError {
        let socket = getenv("NOTIFY_SOCKET").map { String(cString: $0) } ?? "(unset)"
        let firstLine = state.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? state
        return SystemdError(
            code: .notifyFailed,
            errno: errno,
            message: "Failed to send \(firstLine) to the service manager at NOTIFY_SOCKET=\(socket); "
                + "check that the unit is Type=notify (or NotifyAccess= allows this process) and the socket exists"
        )
    }

    /// `sd_watchdog_enabled` rejected the watchdog variables the service manager set.
    public static func invalidWatchdogSetting(errno: Int32) -> SystemdError {
        let usec = getenv("WATCHDOG_USEC").map { String(cString: $0) } ?? "(unset)"
        let pid = getenv("WATCHDOG_PID").map { String(cString: $0) } ?? "(unset)"
        return SystemdError(
            code: .invalidWatchdogSetting,
            errno: errno,
            message: "Failed to read the watchdog setting WATCHDOG_USEC=\(usec) WATCHDOG_PID=\(pid); "
                + "WatchdogSec= in the unit must be a positive time span, ignoring the watchdog"
        )
    }

    /// `sd_journal_sendv` returned `-errno`.
    public static func journalSendFailed(errno: Int32) -> SystemdError {
        SystemdError(
            code: .journalSendFailed,
            errno: errno,
            message: "Failed to send a log entry to the journal at \(SystemdLogging.journalSocketPath); "
                + "check that systemd-journald is running"
        )
    }

    private static func reason(_ errno: Int32) -> String {
        guard let text = strerror(errno) else { return "unknown error" }
        return String(cString: text)
    }
}
