/// The bus the daemon serves on went away (the session ended, or dbus-daemon crashed).
///
/// Not a clean stop: the daemon ends with ``exitStatus`` so that systemd's
/// `Restart=on-failure` starts it again once a bus is back, instead of leaving the user
/// without one until the next login. Status 75 is EX_TEMPFAIL of sysexits.h: a temporary
/// failure, worth retrying.
struct BusLost: Error, CustomStringConvertible {
    static let exitStatus: Int32 = 75

    var description: String {
        "The bus went away; exiting with status \(Self.exitStatus) so that the service manager starts me again"
    }
}
