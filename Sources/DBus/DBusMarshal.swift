import CDBus

/// Moving ``DBusValue``s into and out of libdbus message iterators.
enum DBusMarshal {
    static func code(_ character: Character) -> Int32 { Int32(character.asciiValue!) }

    static let typeByte = code("y")
    static let typeBoolean = code("b")
    static let typeInt16 = code("n")
    static let typeUInt16 = code("q")
    static let typeInt32 = code("i")
    static let typeUInt32 = code("u")
    static let typeInt64 = code("x")
    static let typeUInt64 = code("t")
    static let typeDouble = code("d")
    static let typeString = code("s")
    static let typeObjectPath = code("o")
    static let typeSignature = code("g")
    static let typeUnixFD = code("h")
    static let typeArray = code("a")
    static let typeVariant = code("v")
    static let typeStruct = code("r")
    static let typeDictEntry = code("e")
    static let typeInvalid: Int32 = 0

    // MARK: Appending

    /// Writes `value` at the iterator. `validated`: ``validate(_:)`` has passed for it, so
    /// the checks (a NUL scan of every string, libdbus signature validation of every array,
    /// dictionary and variant) are not made a second time.
    static func append(_ value: DBusValue, to iter: inout DBusMessageIter, validated: Bool = false) throws {
        switch value {
        case .byte(var v): try appendBasic(&iter, typeByte, &v)
        case .boolean(let b):
            var v: dbus_bool_t = b ? 1 : 0
            try appendBasic(&iter, typeBoolean, &v)
        case .int16(var v): try appendBasic(&iter, typeInt16, &v)
        case .uint16(var v): try appendBasic(&iter, typeUInt16, &v)
        case .int32(var v): try appendBasic(&iter, typeInt32, &v)
        case .uint32(var v): try appendBasic(&iter, typeUInt32, &v)
        case .int64(var v): try appendBasic(&iter, typeInt64, &v)
        case .uint64(var v): try appendBasic(&iter, typeUInt64, &v)
        case .double(var v): try appendBasic(&iter, typeDouble, &v)
        case .string(let s):
            guard validated || !s.utf8.contains(0) else {
                throw DBusError.invalidArgs("D-Bus strings cannot contain NUL characters")
            }
            try appendString(&iter, typeString, s)
        case .objectPath(let path): try appendString(&iter, typeObjectPath, path.rawValue)
        case .signature(let signature):
            // The static builders (`.structure([])`, `.dictionary(.variant, …)`) can make
            // invalid signatures, and libdbus aborts the process on one instead of failing.
            guard validated || DBusSignature.isValid(signature.rawValue) else {
                throw DBusError.invalidArgs("'\(signature)' is not a valid D-Bus signature")
            }
            try appendString(&iter, typeSignature, signature.rawValue)
        case .unixFD(let fd):
            var v = fd.fileDescriptor
            try appendBasic(&iter, typeUnixFD, &v)
        case .bytes(let bytes):
            try appendContainer(&iter, typeArray, "y") { sub in
                try bytes.withUnsafeBufferPointer { buffer in
                    var base = buffer.baseAddress ?? UnsafePointer(bitPattern: 1)
                    guard dbus_message_iter_append_fixed_array(&sub, typeByte, &base, Int32(buffer.count)) != 0
                    else { throw DBusError.noMemory() }
                }
            }
        case .array(let element, let items):
            guard validated || element.isSingleCompleteType else {
                throw DBusError.invalidArgs("array element signature '\(element)' is not one complete type")
            }
            try appendContainer(&iter, typeArray, element.rawValue) { sub in
                for item in items {
                    guard validated || item.signature == element else {
                        throw DBusError.invalidArgs(
                            "array of '\(element)' cannot hold a value of type '\(item.signature)'")
                    }
                    try append(item, to: &sub, validated: validated)
                }
            }
        case .dictionary(let key, let valueSignature, let entries):
            let entrySignature = "{" + key.rawValue + valueSignature.rawValue + "}"
            guard validated || DBusSignature.isValid("a" + entrySignature) else {
                throw DBusError.invalidArgs("'a\(entrySignature)' is not a valid dictionary signature")
            }
            try appendContainer(&iter, typeArray, entrySignature) { sub in
                for entry in entries {
                    guard validated || (entry.key.signature == key && entry.value.signature == valueSignature) else {
                        throw DBusError.invalidArgs(
                            "dictionary 'a\(entrySignature)' cannot hold an entry of types '\(entry.key.signature)', '\(entry.value.signature)'")
                    }
                    try appendContainer(&sub, typeDictEntry, nil) { entryIter in
                        try append(entry.key, to: &entryIter, validated: validated)
                        try append(entry.value, to: &entryIter, validated: validated)
                    }
                }
            }
        case .structure(let fields):
            guard validated || !fields.isEmpty else { throw DBusError.invalidArgs("D-Bus structs cannot be empty") }
            try appendContainer(&iter, typeStruct, nil) { sub in
                for field in fields { try append(field, to: &sub, validated: validated) }
            }
        case .variant(let inner):
            // Checked before opening: libdbus aborts the process when a variant's contents
            // have no valid signature (an empty struct anywhere inside, or one too long).
            guard validated || inner.signature.isSingleCompleteType else {
                throw DBusError.invalidArgs("a variant cannot hold a value of type '\(inner.signature)'")
            }
            try appendContainer(&iter, typeVariant, inner.signature.rawValue) { sub in
                try append(inner, to: &sub, validated: validated)
            }
        }
    }

    /// Throws what `append` would throw, without touching a message. libdbus cannot undo a
    /// half-written container (after `dbus_message_iter_abandon_container` the message is
    /// unusable), so values are checked completely before the first byte is written.
    static func validate(_ value: DBusValue) throws {
        switch value {
        case .string(let s):
            guard !s.utf8.contains(0) else {
                throw DBusError.invalidArgs("D-Bus strings cannot contain NUL characters")
            }
        case .signature(let signature):
            guard DBusSignature.isValid(signature.rawValue) else {
                throw DBusError.invalidArgs("'\(signature)' is not a valid D-Bus signature")
            }
        case .array(let element, let items):
            guard element.isSingleCompleteType else {
                throw DBusError.invalidArgs("array element signature '\(element)' is not one complete type")
            }
            for item in items {
                guard item.signature == element else {
                    throw DBusError.invalidArgs("array of '\(element)' cannot hold a value of type '\(item.signature)'")
                }
                try validate(item)
            }
        case .dictionary(let key, let valueSignature, let entries):
            let signature = "a{" + key.rawValue + valueSignature.rawValue + "}"
            guard DBusSignature.isValid(signature) else {
                throw DBusError.invalidArgs("'\(signature)' is not a valid dictionary signature")
            }
            for entry in entries {
                guard entry.key.signature == key, entry.value.signature == valueSignature else {
                    throw DBusError.invalidArgs(
                        "dictionary '\(signature)' cannot hold an entry of types '\(entry.key.signature)', '\(entry.value.signature)'")
                }
                try validate(entry.key)
                try validate(entry.value)
            }
        case .structure(let fields):
            guard !fields.isEmpty else { throw DBusError.invalidArgs("D-Bus structs cannot be empty") }
            for field in fields { try validate(field) }
        case .variant(let inner):
            guard inner.signature.isSingleCompleteType else {
                throw DBusError.invalidArgs("a variant cannot hold a value of type '\(inner.signature)'")
            }
            try validate(inner)
        case .byte, .boolean, .int16, .uint16, .int32, .uint32, .int64, .uint64, .double, .objectPath,
            .unixFD, .bytes:
            break
        }
    }

    private static func appendBasic<T>(_ iter: inout DBusMessageIter, _ type: Int32, _ value: inout T) throws {
        let ok = withUnsafeMutablePointer(to: &value) { dbus_message_iter_append_basic(&iter, type, $0) }
        guard ok != 0 else { throw DBusError.noMemory() }
    }

    private static func appendString(_ iter: inout DBusMessageIter, _ type: Int32, _ text: String) throws {
        try text.withCString { pointer in
            var p: UnsafePointer<CChar>? = pointer
            try appendBasic(&iter, type, &p)
        }
    }

    private static func appendContainer(
        _ iter: inout DBusMessageIter, _ type: Int32, _ signature: String?,
        _ body: (inout DBusMessageIter) throws -> Void
    ) throws {
        var sub = DBusMessageIter()
        let opened: dbus_bool_t
        if let signature {
            opened = signature.withCString { dbus_message_iter_open_container(&iter, type, $0, &sub) }
        } else {
            opened = dbus_message_iter_open_container(&iter, type, nil, &sub)
        }
        guard opened != 0 else { throw DBusError.noMemory() }
        do {
            try body(&sub)
        } catch {
            dbus_message_iter_abandon_container(&iter, &sub)
            throw error
        }
        guard dbus_message_iter_close_container(&iter, &sub) != 0 else { throw DBusError.noMemory() }
    }

    // MARK: Reading

    /// Reads the value at the iterator; nil at the end. libdbus has validated the message.
    static func read(_ iter: inout DBusMessageIter) -> DBusValue? {
        let type = dbus_message_iter_get_arg_type(&iter)
        switch type {
        case typeInvalid: return nil
        case typeByte: return .byte(readBasic(&iter, UInt8(0)))
        case typeBoolean: return .boolean(readBasic(&iter, dbus_bool_t(0)) != 0)
        case typeInt16: return .int16(readBasic(&iter, Int16(0)))
        case typeUInt16: return .uint16(readBasic(&iter, UInt16(0)))
        case typeInt32: return .int32(readBasic(&iter, Int32(0)))
        case typeUInt32: return .uint32(readBasic(&iter, UInt32(0)))
        case typeInt64: return .int64(readBasic(&iter, Int64(0)))
        case typeUInt64: return .uint64(readBasic(&iter, UInt64(0)))
        case typeDouble: return .double(readBasic(&iter, Double(0)))
        case typeString: return .string(readString(&iter))
        case typeObjectPath: return .objectPath(DBusObjectPath(unchecked: readString(&iter)))
        case typeSignature: return .signature(DBusSignature(unchecked: readString(&iter)))
        case typeUnixFD:
            // libdbus hands out a fresh duplicate that the reader owns.
            return .unixFD(DBusUnixFD(takingOwnershipOf: readBasic(&iter, Int32(-1))))
        case typeArray: return readArray(&iter)
        case typeStruct:
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iter, &sub)
            return .structure(readAll(&sub))
        case typeVariant:
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iter, &sub)
            guard let inner = read(&sub) else { return nil }
            return .variant(inner)
        default:
            return nil
        }
    }

    private static func readAll(_ iter: inout DBusMessageIter) -> [DBusValue] {
        var values: [DBusValue] = []
        while let value = read(&iter) {
            values.append(value)
            guard dbus_message_iter_next(&iter) != 0 else { break }
        }
        return values
    }

    private static func readBasic<T>(_ iter: inout DBusMessageIter, _ initial: T) -> T {
        var value = initial
        withUnsafeMutablePointer(to: &value) { dbus_message_iter_get_basic(&iter, $0) }
        return value
    }

    private static func readString(_ iter: inout DBusMessageIter) -> String {
        let pointer: UnsafePointer<CChar>? = readBasic(&iter, nil)
        return pointer.map { String(cString: $0) } ?? ""
    }

    private static func currentSignature(_ iter: inout DBusMessageIter) -> String {
        guard let raw = dbus_message_iter_get_signature(&iter) else { return "" }
        defer { dbus_free(raw) }
        return String(cString: raw)
    }

    private static func readArray(_ iter: inout DBusMessageIter) -> DBusValue {
        let elementType = dbus_message_iter_get_element_type(&iter)
        var sub = DBusMessageIter()
        dbus_message_iter_recurse(&iter, &sub)
        if elementType == typeByte {
            var base: UnsafeMutableRawPointer? = nil
            var count: Int32 = 0
            dbus_message_iter_get_fixed_array(&sub, &base, &count)
            guard let base, count > 0 else { return .bytes([]) }
            return .bytes(Array(UnsafeRawBufferPointer(start: base, count: Int(count))))
        }
        let signature = currentSignature(&iter)  // "aX" or "a{KV}"
        if elementType == typeDictEntry {
            // a{KV}: the key is always one basic type code.
            let inner = signature.dropFirst(2).dropLast()
            let key = DBusSignature(unchecked: String(inner.prefix(1)))
            let value = DBusSignature(unchecked: String(inner.dropFirst()))
            var entries: [DBusDictionaryEntry] = []
            while dbus_message_iter_get_arg_type(&sub) == typeDictEntry {
                var entryIter = DBusMessageIter()
                dbus_message_iter_recurse(&sub, &entryIter)
                let k = read(&entryIter)
                dbus_message_iter_next(&entryIter)
                let v = read(&entryIter)
                if let k, let v { entries.append(DBusDictionaryEntry(k, v)) }
                guard dbus_message_iter_next(&sub) != 0 else { break }
            }
            return .dictionary(key: key, value: value, entries)
        }
        let element = DBusSignature(unchecked: String(signature.dropFirst()))
        return .array(element: element, readAll(&sub))
    }
}
