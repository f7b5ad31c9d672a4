import DBus
import PeerCollabAPI

/// Aligned "Label: value" lines, the layout of `status` and `whoami`.
enum TextTable {
    static func printProperties(_ properties: [String: DBusValue], _ shown: [(property: String, label: String)]) {
        let width = shown.map(\.label.count).max() ?? 0
        for (name, label) in shown {
            guard let value = properties[name] else { continue }
            let head = label + ":"
            print(head + String(repeating: " ", count: width + 2 - head.count) + text(name, value))
        }
    }

    /// A property value for people: host:port pairs, lists joined with commas.
    static func text(_ name: String, _ value: DBusValue) -> String {
        switch value {
        case .string(let text): return text.isEmpty ? "(none)" : text
        case .boolean(let flag): return flag ? "yes" : "no"
        case .array(_, let items) where items.isEmpty: return name == ManagerProperty.signedIn.rawValue ? "no" : "(none)"
        case .array(_, let items):
            return items.map { item -> String in
                if let fields = item.structureFields, fields.count == 2, let host = fields[0].stringValue,
                    let port = fields[1].uint16Value
                {
                    return endpoint(host, port)
                }
                return item.stringValue ?? JSONText.encode(item)
            }.joined(separator: ", ")
        default: return JSONText.encode(value)
        }
    }

    static func endpoint(_ host: String, _ port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension TextTable {
    /// Prints rows in columns two spaces apart (the last column unpadded).
    static func printRows(_ rows: [[String]]) {
        guard let columns = rows.first?.count else { return }
        let widths = (0..<columns).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 2)
            }.joined())
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Pushes stdout out now: `watch` is read by scripts line by line through pipes.
func fflushStandardOutput() {
    fflush(nil)
}
