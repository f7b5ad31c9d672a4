/// An error that travels on the bus: a D-Bus error name and a message for people.
///
/// Handlers throw it (or anything conforming to ``DBusErrorConvertible``) to reply with
/// that error; calls that receive an error reply throw it.
public struct DBusError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The D-Bus error name, such as `org.freedesktop.DBus.Error.InvalidArgs`.
    public var name: String
    /// What went wrong, in words a script's user understands.
    public var message: String

    public init(name: String, message: String) {
        self.name = name
        self.message = message
    }

    public var description: String { "\(name): \(message)" }
}

/// Errors that know which D-Bus error they become when a handler throws them.
public protocol DBusErrorConvertible: Error {
    var dbusError: DBusError { get }
}

extension DBusError: DBusErrorConvertible {
    public var dbusError: DBusError { self }
}

extension DBusError {
    /// The standard error names of the freedesktop specification.
    public enum StandardName {
        public static let failed = "org.freedesktop.DBus.Error.Failed"
        public static let noReply = "org.freedesktop.DBus.Error.NoReply"
        public static let timeout = "org.freedesktop.DBus.Error.Timeout"
        public static let timedOut = "org.freedesktop.DBus.Error.TimedOut"
        public static let disconnected = "org.freedesktop.DBus.Error.Disconnected"
        public static let invalidArgs = "org.freedesktop.DBus.Error.InvalidArgs"
        public static let invalidSignature = "org.freedesktop.DBus.Error.InvalidSignature"
        public static let unknownMethod = "org.freedesktop.DBus.Error.UnknownMethod"
        public static let unknownObject = "org.freedesktop.DBus.Error.UnknownObject"
        public static let unknownInterface = "org.freedesktop.DBus.Error.UnknownInterface"
        public static let unknownProperty = "org.freedesktop.DBus.Error.UnknownProperty"
        public static let propertyReadOnly = "org.freedesktop.DBus.Error.PropertyReadOnly"
        public static let serviceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
        public static let nameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
        public static let noMemory = "org.freedesktop.DBus.Error.NoMemory"
        public static let accessDenied = "org.freedesktop.DBus.Error.AccessDenied"
        public static let limitsExceeded = "org.freedesktop.DBus.Error.LimitsExceeded"
    }

    public static func failed(_ message: String) -> DBusError {
        DBusError(name: StandardName.failed, message: message)
    }
    public static func invalidArgs(_ message: String) -> DBusError {
        DBusError(name: StandardName.invalidArgs, message: message)
    }
    public static func unknownMethod(_ message: String) -> DBusError {
        DBusError(name: StandardName.unknownMethod, message: message)
    }
    public static func unknownObject(_ message: String) -> DBusError {
        DBusError(name: StandardName.unknownObject, message: message)
    }
    public static func unknownInterface(_ message: String) -> DBusError {
        DBusError(name: StandardName.unknownInterface, message: message)
    }
    public static func unknownProperty(_ message: String) -> DBusError {
        DBusError(name: StandardName.unknownProperty, message: message)
    }
    public static func propertyReadOnly(_ message: String) -> DBusError {
        DBusError(name: StandardName.propertyReadOnly, message: message)
    }
    public static func disconnected(_ message: String) -> DBusError {
        DBusError(name: StandardName.disconnected, message: message)
    }
    public static func limitsExceeded(_ message: String) -> DBusError {
        DBusError(name: StandardName.limitsExceeded, message: message)
    }
    public static func noMemory() -> DBusError {
        DBusError(name: StandardName.noMemory, message: "Out of memory")
    }
}
