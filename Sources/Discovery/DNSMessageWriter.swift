/// Writes DNS messages, compressing names against the ones already written (RFC 1035 §4.1.4).
struct DNSMessageWriter {
    private(set) var bytes: [UInt8] = []
    private let compress: Bool
    /// Lower-case names in RDATA, for the canonical form of RFC 4034 §6.2.
    private let canonical: Bool
    /// Where each name suffix already written starts; only offsets below 0x4000 fit a pointer.
    private var suffixOffsets: [[[UInt8]]: Int] = [:]

    init(compress: Bool, canonical: Bool = false) {
        self.compress = compress
        self.canonical = canonical
    }

    mutating func writeMessage(_ message: DNSMessage) throws(DNSMessageError) {
        writeUInt16(message.id)
        writeUInt16(message.flags)
        for count in [message.questions.count, message.answers.count, message.authorities.count, message.additionals.count] {
            writeUInt16(UInt16(clamping: count))
        }
        for question in message.questions {
            try writeName(question.name)
            writeUInt16(question.type.rawValue)
            writeUInt16(question.recordClass & 0x7FFF | (question.unicastResponse ? 0x8000 : 0))
        }
        for record in message.allRecords { try writeRecord(record) }
    }

    mutating func writeRecord(_ record: DNSResourceRecord) throws(DNSMessageError) {
        try writeName(record.name)
        writeUInt16(record.type.rawValue)
        writeUInt16(record.recordClass & 0x7FFF | (record.cacheFlush ? 0x8000 : 0))
        writeUInt32(record.ttl)
        let lengthOffset = bytes.count
        writeUInt16(0)
        try writeData(record.data)
        let length = bytes.count - lengthOffset - 2
        bytes[lengthOffset] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[lengthOffset + 1] = UInt8(truncatingIfNeeded: length)
    }

    mutating func writeData(_ data: DNSRecordData) throws(DNSMessageError) {
        switch data {
        case .a(let address), .aaaa(let address), .opaque(let address):
            bytes += address
        case .ptr(let name):
            try writeName(name, lowercase: canonical)
        case .srv(let priority, let weight, let port, let target):
            writeUInt16(priority)
            writeUInt16(weight)
            writeUInt16(port)
            try writeName(target, lowercase: canonical)
        case .txt(let strings):
            for string in strings {
                let clipped = string.prefix(255)
                bytes.append(UInt8(clipped.count))
                bytes += clipped
            }
        case .nsec(let next, let types):
            // RFC 4034 §4.1.1: the next name is not compressed.
            try writeName(next, lowercase: canonical, allowCompression: false)
            let windows = Dictionary(grouping: types, by: { $0.rawValue >> 8 })
            for window in windows.keys.sorted() {
                var map = [UInt8](repeating: 0, count: 32)
                for type in windows[window]! {
                    let low = Int(type.rawValue & 0xFF)
                    map[low / 8] |= 0x80 >> UInt8(low % 8)
                }
                let used = (map.lastIndex(where: { $0 != 0 }) ?? 0) + 1
                bytes.append(UInt8(window))
                bytes.append(UInt8(used))
                bytes += map[..<used]
            }
        }
    }

    mutating func writeName(_ name: DNSName, lowercase: Bool = false, allowCompression: Bool = true) throws(DNSMessageError) {
        let canonicalLabels = name.canonicalLabels
        for index in name.labels.indices {
            let label = name.labels[index]
            guard !label.isEmpty, label.count <= 63 else { throw .labelTooLong(label.count) }
            let suffix = Array(canonicalLabels[index...])
            if compress, allowCompression, let target = suffixOffsets[suffix] {
                writeUInt16(0xC000 | UInt16(target))
                return
            }
            if compress, bytes.count < 0x4000, suffixOffsets[suffix] == nil { suffixOffsets[suffix] = bytes.count }
            bytes.append(UInt8(label.count))
            bytes += lowercase ? canonicalLabels[index] : label
        }
        guard name.wireLength <= 255 else { throw DNSMessageError(code: .nameTooLong, offset: -1, message: "a name longer than 255 bytes cannot be written") }
        bytes.append(0)
    }

    private mutating func writeUInt16(_ value: UInt16) {
        bytes.append(UInt8(value >> 8))
        bytes.append(UInt8(value & 0xFF))
    }

    private mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(value >> 16))
        writeUInt16(UInt16(value & 0xFFFF))
    }
}
