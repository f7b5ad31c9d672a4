/// DNS-SD TXT records (RFC 6763 §6) in Avahi's D-Bus form, `aay`: one `key=value` byte
/// string per entry.
enum AvahiTXT {
    /// A DNS character-string holds at most 255 bytes.
    static let maxEntryBytes = 255
    /// More than this many entries from a peer is not a peercollab record; the rest is ignored.
    static let maxDecodedEntries = 128

    /// Encodes pairs in key order so that re-publishing the same record is byte-identical.
    static func encode(_ txt: [String: String]) throws(AvahiError) -> [[UInt8]] {
        var entries: [[UInt8]] = []
        for (key, value) in txt.sorted(by: { $0.key < $1.key }) {
            guard !key.isEmpty, key.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E && $0 != UInt8(ascii: "=") })
            else {
                throw .invalidAnnouncement(
                    "TXT key '\(key)' must be 1 or more printable ASCII characters without '='")
            }
            let entry = Array(key.utf8) + [UInt8(ascii: "=")] + Array(value.utf8)
            guard entry.count <= maxEntryBytes else {
                throw .invalidAnnouncement(
                    "TXT entry '\(key)' is \(entry.count) bytes; key, '=' and value must fit in \(maxEntryBytes)")
            }
            entries.append(entry)
        }
        return entries
    }

    /// Decodes what a peer announced. Keys are case-insensitive (lowercased here) and the
    /// first occurrence wins (RFC 6763 §6.4); values that are not UTF-8 cannot be carried in
    /// a `[String: String]` and are dropped, as are malformed keys. A key without `=` is a
    /// boolean attribute and maps to "".
    static func decode(_ entries: [[UInt8]]) -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries.prefix(maxDecodedEntries) where !entry.isEmpty && entry.count <= maxEntryBytes {
            let keyBytes: ArraySlice<UInt8>
            let valueBytes: ArraySlice<UInt8>
            if let equals = entry.firstIndex(of: UInt8(ascii: "=")) {
                keyBytes = entry[..<equals]
                valueBytes = entry[(equals + 1)...]
            } else {
                keyBytes = entry[...]
                valueBytes = []
            }
            guard !keyBytes.isEmpty, keyBytes.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else { continue }
            let key = String(decoding: keyBytes, as: UTF8.self).lowercased()
            guard result[key] == nil, let value = String(validating: valueBytes, as: UTF8.self) else { continue }
            result[key] = value
        }
        return result
    }
}
