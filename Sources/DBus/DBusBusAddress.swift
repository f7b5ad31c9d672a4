/// Which bus to connect to.
public enum DBusBusAddress: Sendable, Hashable {
    /// The user's session bus (`DBUS_SESSION_BUS_ADDRESS`).
    case session
    /// The system bus (`DBUS_SYSTEM_BUS_ADDRESS` or the default socket).
    case system
    /// A bus at this address, such as `unix:path=/run/user/1000/bus`.
    case address(String)
}
