import DBus

/// D-Bus values as JSON text, for `--json`: strings, numbers, booleans, arrays and objects;
/// byte arrays become arrays of numbers, object paths and signatures strings.
enum JSONText {
    static func encode(_ value: DBusValue) -> String {
        switch value {
        case .byte(let v): return String(v)
        case .boolean(let v): return v ? "true" : "false"
        case .int16(let v): return String(v)
        case .uint16(let v): return String(v)
        case .int32(let v): return String(v)
        case .uint32(let v): return String(v)
        case .int64(let v): return String(v)
        case .uint64(let v): return String(v)
        case .double(let v): return v.isFinite ? String(v) : "null"
        case .string(let v): return quote(v)
        case .objectPath(let v): return quote(v.rawValue)
        case .signature(let v): return quote(v.rawValue)
        case .unixFD(let v): return String(v.fileDescriptor)
        case .bytes(let v): return "[" + v.map(String.init).joined(separator: ",") + "]"
        case .array(_, let items): return "[" + items.map(encode).joined(separator: ",") + "]"
        case .structure(let fields): return "[" + fields.map(encode).joined(separator: ",") + "]"
        case .variant(let inner): return encode(inner)
        case .dictionary(_, _, let entries):
            return "{" + entries.map { entry in
                let key: String
                if case .string(let text) = entry.key { key = text } else { key = encode(entry.key) }
                return quote(key) + ":" + encode(entry.value)
            }.joined(separator: ",") + "}"
        }
    }

    static func object(_ members: [(String, DBusValue)]) -> String {
        "{" + members.map { quote($0.0) + ":" + encode($0.1) }.joined(separator: ",") + "}"
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension JSONText {
    /// An object of members whose values are JSON text already.
    static func encoded(_ members: [(String, String)]) -> String {
        "{" + members.map { quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// An array of JSON texts.
    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
}
