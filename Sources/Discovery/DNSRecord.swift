/// A DNS record type code (`A`, `PTR`, ...); unknown codes are kept as they are.
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = Self(rawValue: 1)
    public static let ptr = Self(rawValue: 12)
    public static let txt = Self(rawValue: 16)
    public static let aaaa = Self(rawValue: 28)
    public static let srv = Self(rawValue: 33)
    public static let nsec = Self(rawValue: 47)
    /// Only in questions: every type.
    public static let any = Self(rawValue: 255)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .a: "A"
        case .ptr: "PTR"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        case .nsec: "NSEC"
        case .any: "ANY"
        default: "TYPE\(rawValue)"
        }
    }
}

/// The class IN, the only one mDNS uses; ANY (255) appears in questions.
public enum DNSClass {
    public static let internet: UInt16 = 1
    public static let any: UInt16 = 255
}

/// A question: "what records of this type does this name have?".
public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: UInt16
    /// The top bit of the class in mDNS queries: the asker prefers a unicast answer (QU).
    public var unicastResponse: Bool

    public init(name: DNSName, type: DNSRecordType, recordClass: UInt16 = DNSClass.internet, unicastResponse: Bool = false) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.unicastResponse = unicastResponse
    }

    /// Whether `record` answers this question.
    public func isAnswered(by record: DNSResourceRecord) -> Bool {
        record.name == name && (type == .any || type == record.type)
            && (recordClass == DNSClass.any || recordClass == record.recordClass)
    }
}

/// The data of a record, decoded for the types mDNS/DNS-SD needs, opaque for others.
public enum DNSRecordData: Hashable, Sendable {
    case a([UInt8])
    case aaaa([UInt8])
    case ptr(DNSName)
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    /// Character strings, each at most 255 bytes.
    case txt([[UInt8]])
    /// Next name and the types present (RFC 4034 §4, used by mDNS for negative answers).
    case nsec(next: DNSName, types: [DNSRecordType])
    case opaque([UInt8])
}

/// A resource record. `cacheFlush` is the top bit of the class in mDNS answers: the sender
/// holds every record of this name and type (a unique record set).
public struct DNSResourceRecord: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: UInt16
    public var cacheFlush: Bool
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, type: DNSRecordType, recordClass: UInt16 = DNSClass.internet, cacheFlush: Bool = false, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.cacheFlush = cacheFlush
        self.ttl = ttl
        self.data = data
    }

    /// Same name, type, class and data: the same record, whatever its TTL and flags.
    public func isSameRecord(as other: DNSResourceRecord) -> Bool {
        name == other.name && type == other.type && recordClass == other.recordClass && data == other.data
    }

    /// The rdata in canonical (uncompressed, lower-case names) wire form, for the
    /// lexicographic comparison of RFC 6762 §8.2 and as a cache key.
    public var canonicalData: [UInt8] {
        var writer = DNSMessageWriter(compress: false, canonical: true)
        // Only names with over-long labels fail, and those were never decoded; an empty
        // result then still orders consistently.
        try? writer.writeData(data)
        return writer.bytes
    }

    /// The TXT strings as key/value pairs (RFC 6763 §6.3: a key without `=` has value "";
    /// the first occurrence of a key wins).
    public var txtDictionary: [String: String] {
        guard case .txt(let strings) = data else { return [:] }
        var result: [String: String] = [:]
        for string in strings where !string.isEmpty {
            let key: String
            let value: String
            if let equals = string.firstIndex(of: 0x3D) {
                key = String(decoding: string[..<equals], as: UTF8.self)
                value = String(decoding: string[(equals + 1)...], as: UTF8.self)
            } else {
                key = String(decoding: string, as: UTF8.self)
                value = ""
            }
            let folded = key.lowercased()
            if !folded.isEmpty, result[folded] == nil { result[folded] = value }
        }
        return result
    }

    /// TXT strings for a dictionary, keys sorted so the record is the same every time.
    public static func txtStrings(_ dictionary: [String: String]) -> [[UInt8]] {
        let strings = dictionary.keys.sorted().map { Array("\($0)=\(dictionary[$0]!)".utf8).prefix(255) }.map(Array.init)
        return strings.isEmpty ? [[]] : strings
    }
}
