import CDBus

/// Checks of names against the D-Bus specification, through libdbus's own validators.
public enum DBusNames {
    public static func isValidInterfaceName(_ name: String) -> Bool {
        validate(name, dbus_validate_interface)
    }
    public static func isValidMemberName(_ name: String) -> Bool {
        validate(name, dbus_validate_member)
    }
    public static func isValidErrorName(_ name: String) -> Bool {
        validate(name, dbus_validate_error_name)
    }
    public static func isValidBusName(_ name: String) -> Bool {
        validate(name, dbus_validate_bus_name)
    }

    private static func validate(
        _ name: String, _ check: (UnsafePointer<CChar>?, UnsafeMutablePointer<CDBus.DBusError>?) -> dbus_bool_t
    ) -> Bool {
        guard !name.utf8.contains(0) else { return false }
        return name.withCString { check($0, nil) != 0 }
    }
}
