import CDBus

/// A D-Bus type signature, checked by libdbus when made.
public struct DBusSignature: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The signature text, such as `a{sv}`.
    public let rawValue: String

    /// Makes a signature of zero or more complete types; throws `InvalidSignature` if libdbus rejects it.
    public init(_ text: String) throws {
        guard DBusSignature.isValid(text) else {
            throw DBusError(
                name: DBusError.StandardName.invalidSignature,
                message: "'\(text)' is not a valid D-Bus signature")
        }
        rawValue = text
    }

    /// For literals in code; a bad literal is a programming error.
    public init(stringLiteral value: String) {
        precondition(DBusSignature.isValid(value), "invalid D-Bus signature literal '\(value)'")
        rawValue = value
    }

    init(unchecked text: String) { rawValue = text }

    public var description: String { rawValue }

    /// Whether this is exactly one complete type, as array elements and variants need.
    public var isSingleCompleteType: Bool {
        rawValue.withCString { dbus_signature_validate_single($0, nil) != 0 }
    }

    static func isValid(_ text: String) -> Bool {
        guard !text.utf8.contains(0) else { return false }
        return text.withCString { dbus_signature_validate($0, nil) != 0 }
    }

    public static let byte: DBusSignature = "y"
    public static let boolean: DBusSignature = "b"
    public static let int16: DBusSignature = "n"
    public static let uint16: DBusSignature = "q"
    public static let int32: DBusSignature = "i"
    public static let uint32: DBusSignature = "u"
    public static let int64: DBusSignature = "x"
    public static let uint64: DBusSignature = "t"
    public static let double: DBusSignature = "d"
    public static let string: DBusSignature = "s"
    public static let objectPath: DBusSignature = "o"
    public static let signature: DBusSignature = "g"
    public static let unixFD: DBusSignature = "h"
    public static let variant: DBusSignature = "v"
    public static let empty = DBusSignature(unchecked: "")

    public static func array(of element: DBusSignature) -> DBusSignature {
        DBusSignature(unchecked: "a" + element.rawValue)
    }
    public static func dictionary(_ key: DBusSignature, _ value: DBusSignature) -> DBusSignature {
        DBusSignature(unchecked: "a{" + key.rawValue + value.rawValue + "}")
    }
    public static func structure(_ fields: [DBusSignature]) -> DBusSignature {
        DBusSignature(unchecked: "(" + fields.map(\.rawValue).joined() + ")")
    }
    /// The concatenation of several complete types, as a message body has.
    public static func sequence(_ parts: [DBusSignature]) -> DBusSignature {
        DBusSignature(unchecked: parts.map(\.rawValue).joined())
    }
}

/// A D-Bus object path, checked when made.
public struct DBusObjectPath: Hashable, Sendable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String

    /// Throws `InvalidArgs` unless `text` is a valid object path (`/`, or `/a/b_c` …).
    public init(_ text: String) throws {
        guard DBusObjectPath.isValid(text) else {
            throw DBusError.invalidArgs("'\(text)' is not a valid D-Bus object path")
        }
        rawValue = text
    }

    public init(stringLiteral value: String) {
        precondition(DBusObjectPath.isValid(value), "invalid object path literal '\(value)'")
        rawValue = value
    }

    init(unchecked text: String) { rawValue = text }

    public static let root: DBusObjectPath = "/"

    public var description: String { rawValue }

    public static func < (lhs: DBusObjectPath, rhs: DBusObjectPath) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    /// The path of a child, `self/element`; the element must be `[A-Za-z0-9_]+`.
    public func appending(_ element: String) throws -> DBusObjectPath {
        try DBusObjectPath(rawValue == "/" ? "/" + element : rawValue + "/" + element)
    }

    /// Whether `self` lies strictly below `ancestor`.
    public func isDescendant(of ancestor: DBusObjectPath) -> Bool {
        if ancestor.rawValue == "/" { return rawValue != "/" }
        // Byte by byte, without making `ancestor/`: GetManagedObjects asks this of every object.
        let own = rawValue.utf8
        let prefix = ancestor.rawValue.utf8
        guard own.count > prefix.count, own.starts(with: prefix) else { return false }
        return own[own.index(own.startIndex, offsetBy: prefix.count)] == UInt8(ascii: "/")
    }

    static func isValid(_ text: String) -> Bool {
        guard text.utf8.first == UInt8(ascii: "/") else { return false }
        if text == "/" { return true }
        var previousWasSlash = false
        for byte in text.utf8 {
            let isSlash = byte == UInt8(ascii: "/")
            if isSlash {
                if previousWasSlash { return false }
            } else if !isPathElementByte(byte) {
                return false
            }
            previousWasSlash = isSlash
        }
        return !previousWasSlash
    }

    /// Whether `text` can be one element of an object path.
    public static func isValidElement(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isPathElementByte)
    }

    private static func isPathElementByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}
