import CSystemd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Tells the service manager about this service's state through `sd_notify` (`Type=notify` units).
///
/// Every call returns `false` and does nothing when `NOTIFY_SOCKET` is not set, so a daemon
/// started from a shell needs no special case. `NOTIFY_SOCKET` stays in the environment
/// because the watchdog keeps using it for the life of the process.
public enum SystemdNotifier {
    /// True when the service manager gave this process a notification socket (`NOTIFY_SOCKET`).
    public static var isUnderSystemd: Bool {
        guard let socket = getenv("NOTIFY_SOCKET") else { return false }
        return socket.pointee != 0
    }

    /// Reports that start-up (or a reload) is finished, with an optional human-readable status.
    @discardableResult
    public static func ready(status: String? = nil) throws(SystemdError) -> Bool {
        var state = "READY=1"
        if let status { state += "\n" + statusAssignment(status) }
        return try notify(state)
    }

    /// Sets the one-line status `systemctl status` shows for the unit.
    @discardableResult
    public static func status(_ status: String) throws(SystemdError) -> Bool {
        try notify(statusAssignment(status))
    }

    /// Reports that a reload started; finish it with ``ready(status:)``.
    ///
    /// Carries `MONOTONIC_USEC`, which `Type=notify-reload` units require to match the
    /// reload to the request.
    @discardableResult
    public static func reloading() throws(SystemdError) -> Bool {
        try notify(reloadingState(monotonicMicroseconds: monotonicMicroseconds()))
    }

    /// Reports that the service is shutting down.
    @discardableResult
    public static func stopping() throws(SystemdError) -> Bool {
        try notify("STOPPING=1")
    }

    /// Tells the watchdog the service is alive; see ``Watchdog`` for the timing.
    @discardableResult
    public static func watchdogPing() throws(SystemdError) -> Bool {
        try notify("WATCHDOG=1")
    }

    /// Sends newline-separated `KEY=value` assignments as they are.
    ///
    /// - Returns: `true` when sent, `false` when there is no `NOTIFY_SOCKET`.
    @discardableResult
    public static func notify(_ state: String) throws(SystemdError) -> Bool {
        // unset_environment = 0: the watchdog pings later need NOTIFY_SOCKET.
        let result = sd_notify(0, state)
        if result < 0 { throw .notifyFailed(state: state, errno: -result) }
        return result > 0
    }

    /// The `STATUS=` assignment for `text`, on one line.
    ///
    /// A newline would start a new assignment, so a status built from peer-supplied text could
    /// otherwise send `READY=1` or `STOPPING=1`; newlines become spaces.
    static func statusAssignment(_ text: String) -> String {
        var line = ""
        line.unicodeScalars.append(
            contentsOf: text.unicodeScalars.map { $0 == "\n" || $0 == "\r" ? " " : $0 }
        )
        return "STATUS=" + line
    }

    /// The reload notification carrying the monotonic time it was sent at.
    static func reloadingState(monotonicMicroseconds: UInt64) -> String {
        "RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds)"
    }

    /// `CLOCK_MONOTONIC` in microseconds, the clock systemd compares `MONOTONIC_USEC` with.
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}
