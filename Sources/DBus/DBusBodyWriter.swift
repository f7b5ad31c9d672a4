import CDBus

/// Writes a message body piece by piece, straight into libdbus's buffer, so that a large
/// reply (GetManagedObjects over thousands of objects) never exists as one ``DBusValue``
/// tree next to its marshalled copy: only the piece being written does.
///
/// libdbus cannot undo part of a container: after a failed write the message is unusable.
/// A writer that is dropped with containers still open abandons them (freeing what libdbus
/// allocated for them), and its message must then be thrown away, never sent.
///
/// Not Sendable: one task builds the message, then sends it, as ``DBusMessage/append(_:)`` does.
final class DBusBodyWriter {
    let message: DBusMessage
    /// The open containers, outermost first; `iterators[0]` writes the body itself.
    /// libdbus iterators hold no pointers to themselves, so an array may move them.
    private var iterators: [DBusMessageIter]

    init(_ message: DBusMessage) {
        self.message = message
        var body = DBusMessageIter()
        dbus_message_iter_init_append(message.raw, &body)
        iterators = [body]
        iterators.reserveCapacity(8)
    }

    deinit {
        while iterators.count > 1 {
            var sub = iterators.removeLast()
            dbus_message_iter_abandon_container_if_open(&iterators[iterators.count - 1], &sub)
        }
    }

    /// Whether every container opened has been closed again.
    var isComplete: Bool { iterators.count == 1 }

    /// Opens an array (`signature`: the element type), a variant (`signature`: the contents'
    /// type), a struct or a dictionary entry (no signature) in the current container.
    func open(_ type: Int32, _ signature: String? = nil) throws {
        var sub = DBusMessageIter()
        let last = iterators.count - 1
        let opened: dbus_bool_t
        if let signature {
            opened = signature.withCString { dbus_message_iter_open_container(&iterators[last], type, $0, &sub) }
        } else {
            opened = dbus_message_iter_open_container(&iterators[last], type, nil, &sub)
        }
        guard opened != 0 else { throw DBusError.noMemory() }
        iterators.append(sub)
    }

    /// Closes the innermost open container.
    func close() throws {
        precondition(iterators.count > 1, "no container is open")
        var sub = iterators.removeLast()
        guard dbus_message_iter_close_container(&iterators[iterators.count - 1], &sub) != 0 else {
            throw DBusError.noMemory()
        }
    }

    /// Writes one complete value into the current container. Unless `validated` (that is,
    /// ``DBusMarshal/validate(_:)`` passed for it), a value libdbus would reject throws,
    /// possibly after part of it was written.
    func append(_ value: DBusValue, validated: Bool) throws {
        try DBusMarshal.append(value, to: &iterators[iterators.count - 1], validated: validated)
    }

    /// Writes a string known to be valid UTF-8 without NUL (a Swift `String` of a
    /// property or interface name, which ``DBusNames`` checked).
    func appendName(_ name: String) throws {
        try appendText(DBusMarshal.typeString, name)
    }

    /// Writes an object path (``DBusObjectPath`` checked it when it was made).
    func append(_ path: DBusObjectPath) throws {
        try appendText(DBusMarshal.typeObjectPath, path.rawValue)
    }

    private func appendText(_ type: Int32, _ text: String) throws {
        // A native Swift string is stored with a trailing NUL: withCString does not copy it.
        let ok = text.withCString { pointer in
            var pointer: UnsafePointer<CChar>? = pointer
            return dbus_message_iter_append_basic(&iterators[iterators.count - 1], type, &pointer)
        }
        guard ok != 0 else { throw DBusError.noMemory() }
    }
}
