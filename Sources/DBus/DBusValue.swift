/// One value of the D-Bus type system, of any type, nested as deep as D-Bus allows.
///
/// Arrays and dictionaries carry their element signatures so that empty ones keep their
/// type. Arrays of bytes decode as ``bytes(_:)``, the compact form; both forms encode the same.
public indirect enum DBusValue: Hashable, Sendable {
    case byte(UInt8)
    case boolean(Bool)
    case int16(Int16)
    case uint16(UInt16)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case string(String)
    case objectPath(DBusObjectPath)
    case signature(DBusSignature)
    case unixFD(DBusUnixFD)
    /// `ay`, kept as plain bytes.
    case bytes([UInt8])
    case array(element: DBusSignature, [DBusValue])
    case dictionary(key: DBusSignature, value: DBusSignature, [DBusDictionaryEntry])
    case structure([DBusValue])
    case variant(DBusValue)

    /// The signature of this one value.
    public var signature: DBusSignature {
        switch self {
        case .byte: return .byte
        case .boolean: return .boolean
        case .int16: return .int16
        case .uint16: return .uint16
        case .int32: return .int32
        case .uint32: return .uint32
        case .int64: return .int64
        case .uint64: return .uint64
        case .double: return .double
        case .string: return .string
        case .objectPath: return .objectPath
        case .signature: return .signature
        case .unixFD: return .unixFD
        case .bytes: return .array(of: .byte)
        case .array(let element, _): return .array(of: element)
        case .dictionary(let key, let value, _): return .dictionary(key, value)
        case .structure(let fields): return .structure(fields.map(\.signature))
        case .variant: return .variant
        }
    }
}

/// One key/value pair of a D-Bus dictionary (`{kv}`), in wire order.
public struct DBusDictionaryEntry: Hashable, Sendable {
    public var key: DBusValue
    public var value: DBusValue

    public init(_ key: DBusValue, _ value: DBusValue) {
        self.key = key
        self.value = value
    }
}

// MARK: - Convenience constructors and accessors

extension DBusValue {
    /// `as`
    public static func strings(_ values: [String]) -> DBusValue {
        .array(element: .string, values.map(DBusValue.string))
    }

    /// `a{sv}` from Swift pairs, keys sorted so that output is stable.
    public static func vardict(_ values: [String: DBusValue]) -> DBusValue {
        .dictionary(
            key: .string, value: .variant,
            values.sorted { $0.key < $1.key }.map { DBusDictionaryEntry(.string($0.key), .variant($0.value)) })
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
    public var boolValue: Bool? {
        if case .boolean(let value) = self { return value }
        return nil
    }
    public var uint32Value: UInt32? {
        if case .uint32(let value) = self { return value }
        return nil
    }
    public var int32Value: Int32? {
        if case .int32(let value) = self { return value }
        return nil
    }
    public var uint64Value: UInt64? {
        if case .uint64(let value) = self { return value }
        return nil
    }
    public var uint16Value: UInt16? {
        if case .uint16(let value) = self { return value }
        return nil
    }
    public var objectPathValue: DBusObjectPath? {
        if case .objectPath(let value) = self { return value }
        return nil
    }
    /// The bytes of an `ay`, in either form.
    public var bytesValue: [UInt8]? {
        switch self {
        case .bytes(let bytes): return bytes
        case .array(let element, let items) where element == .byte:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(items.count)
            for case .byte(let byte) in items { bytes.append(byte) }
            return bytes
        default: return nil
        }
    }
    /// The strings of an `as`.
    public var stringArrayValue: [String]? {
        guard case .array(let element, let items) = self, element == .string else { return nil }
        return items.compactMap(\.stringValue)
    }
    /// The elements of any array (bytes become `.byte` values).
    public var arrayElements: [DBusValue]? {
        switch self {
        case .array(_, let items): return items
        case .bytes(let bytes): return bytes.map(DBusValue.byte)
        default: return nil
        }
    }
    /// The fields of a struct.
    public var structureFields: [DBusValue]? {
        if case .structure(let fields) = self { return fields }
        return nil
    }
    /// The value inside a variant.
    public var variantValue: DBusValue? {
        if case .variant(let inner) = self { return inner }
        return nil
    }
    /// An `a{sv}` as a Swift dictionary of the variants' contents; nil for any other type.
    public var vardictValue: [String: DBusValue]? {
        guard case .dictionary(let key, let value, let entries) = self, key == .string, value == .variant
        else { return nil }
        var result: [String: DBusValue] = [:]
        for entry in entries {
            if case .string(let name) = entry.key, case .variant(let inner) = entry.value {
                result[name] = inner
            }
        }
        return result
    }
}
