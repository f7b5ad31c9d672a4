import CDBus

/// A D-Bus message: a method call, a reply, an error or a signal.
///
/// Wraps a libdbus `DBusMessage`. libdbus reference counts are atomic, and once built a
/// message is only read (each read makes its own iterator), so sharing it is safe; building
/// (`append`) happens before a message is handed to anyone else.
public final class DBusMessage: @unchecked Sendable {
    let raw: OpaquePointer

    /// Takes over one reference to `raw`.
    init(adopting raw: OpaquePointer) {
        self.raw = raw
    }

    /// Adds a reference to `raw`.
    init(retaining raw: OpaquePointer) {
        self.raw = dbus_message_ref(raw)
    }

    deinit { dbus_message_unref(raw) }

    /// What kind of message this is.
    public enum Kind: Sendable, Equatable {
        case methodCall, methodReturn, error, signal, invalid
    }

    public var kind: Kind {
        switch dbus_message_get_type(raw) {
        case DBUS_MESSAGE_TYPE_METHOD_CALL: return .methodCall
        case DBUS_MESSAGE_TYPE_METHOD_RETURN: return .methodReturn
        case DBUS_MESSAGE_TYPE_ERROR: return .error
        case DBUS_MESSAGE_TYPE_SIGNAL: return .signal
        default: return .invalid
        }
    }

    public var path: String? { dbus_message_get_path(raw).map { String(cString: $0) } }
    public var interface: String? { dbus_message_get_interface(raw).map { String(cString: $0) } }
    public var member: String? { dbus_message_get_member(raw).map { String(cString: $0) } }
    public var sender: String? { dbus_message_get_sender(raw).map { String(cString: $0) } }
    public var destination: String? { dbus_message_get_destination(raw).map { String(cString: $0) } }
    public var errorName: String? { dbus_message_get_error_name(raw).map { String(cString: $0) } }
    public var serial: UInt32 { dbus_message_get_serial(raw) }
    public var replySerial: UInt32 { dbus_message_get_reply_serial(raw) }
    /// Whether the sender asked for no reply.
    public var noReply: Bool { dbus_message_get_no_reply(raw) != 0 }
    /// The signature of the body.
    public var signature: DBusSignature {
        DBusSignature(unchecked: dbus_message_get_signature(raw).map { String(cString: $0) } ?? "")
    }

    // MARK: Making messages

    /// A method call; throws `InvalidArgs` for malformed names.
    public static func methodCall(
        destination: String?, path: DBusObjectPath, interface: String?, member: String
    ) throws -> DBusMessage {
        try checkNames(interface: interface, member: member, destination: destination)
        guard
            let raw = dbus_message_new_method_call(destination, path.rawValue, interface, member)
        else { throw DBusError.noMemory() }
        return DBusMessage(adopting: raw)
    }

    /// A signal; throws `InvalidArgs` for malformed names.
    public static func signal(path: DBusObjectPath, interface: String, member: String) throws
        -> DBusMessage
    {
        try checkNames(interface: interface, member: member, destination: nil)
        guard let raw = dbus_message_new_signal(path.rawValue, interface, member) else {
            throw DBusError.noMemory()
        }
        return DBusMessage(adopting: raw)
    }

    /// The successful reply to this method call.
    public func makeReply() throws -> DBusMessage {
        guard let reply = dbus_message_new_method_return(raw) else { throw DBusError.noMemory() }
        return DBusMessage(adopting: reply)
    }

    /// The error reply to this method call. An invalid error name becomes `Failed`.
    public func makeErrorReply(_ error: DBusError) throws -> DBusMessage {
        let name = DBusNames.isValidErrorName(error.name) ? error.name : DBusError.StandardName.failed
        // libdbus copies the message with printf-free code, and messages must not contain NUL.
        let text = String(error.message.unicodeScalars.filter { $0 != "\0" })
        guard let reply = dbus_message_new_error(raw, name, text) else { throw DBusError.noMemory() }
        return DBusMessage(adopting: reply)
    }

    private static func checkNames(interface: String?, member: String, destination: String?) throws {
        if let interface, !DBusNames.isValidInterfaceName(interface) {
            throw DBusError.invalidArgs("'\(interface)' is not a valid D-Bus interface name")
        }
        guard DBusNames.isValidMemberName(member) else {
            throw DBusError.invalidArgs("'\(member)' is not a valid D-Bus member name")
        }
        if let destination, !DBusNames.isValidBusName(destination) {
            throw DBusError.invalidArgs("'\(destination)' is not a valid D-Bus bus name")
        }
    }

    // MARK: Body

    /// Appends values to the body; on failure the body is left as it was before the call.
    public func append(_ values: [DBusValue]) throws {
        for value in values { try DBusMarshal.validate(value) }
        var iter = DBusMessageIter()
        dbus_message_iter_init_append(raw, &iter)
        for value in values {
            try DBusMarshal.append(value, to: &iter, validated: true)
        }
    }

    /// Appends one value to the body.
    public func append(_ value: DBusValue) throws { try append([value]) }

    /// Decodes the whole body.
    public func arguments() -> [DBusValue] {
        var iter = DBusMessageIter()
        guard dbus_message_iter_init(raw, &iter) != 0 else { return [] }
        var values: [DBusValue] = []
        repeat {
            guard let value = DBusMarshal.read(&iter) else { break }
            values.append(value)
        } while dbus_message_iter_next(&iter) != 0
        return values
    }

    /// The first argument when it is a string, read without decoding the rest of the body
    /// (which may be large and sent by anyone).
    public var firstStringArgument: String? {
        var iter = DBusMessageIter()
        guard dbus_message_iter_init(raw, &iter) != 0, dbus_message_iter_get_arg_type(&iter) == DBusMarshal.typeString
        else { return nil }
        var text: UnsafePointer<CChar>?
        withUnsafeMutablePointer(to: &text) { dbus_message_iter_get_basic(&iter, $0) }
        return text.map { String(cString: $0) }
    }

    /// For an error message: the error it carries (the first string argument is the text).
    public var error: DBusError? {
        guard kind == .error, let name = errorName else { return nil }
        let text = arguments().first?.stringValue ?? ""
        return DBusError(name: name, message: text)
    }
}
