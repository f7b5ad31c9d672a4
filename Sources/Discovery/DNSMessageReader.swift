/// Reads a DNS message from bytes that may have been made to hurt: every length is checked
/// against what is left, pointers go only backwards, and every loop is bounded.
struct DNSMessageReader {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func readMessage() throws(DNSMessageError) -> DNSMessage {
        guard bytes.count <= DNSMessage.maximumLength else {
            throw .messageTooLong(bytes.count, limit: DNSMessage.maximumLength)
        }
        let id = try readUInt16("the header")
        let flags = try readUInt16("the header")
        let questionCount = Int(try readUInt16("the header"))
        let answerCount = Int(try readUInt16("the header"))
        let authorityCount = Int(try readUInt16("the header"))
        let additionalCount = Int(try readUInt16("the header"))
        // A question takes at least 5 bytes and a record 11, so the counts alone tell
        // whether the packet can hold them; this bounds every allocation below.
        let minimum = questionCount * 5 + (answerCount + authorityCount + additionalCount) * 11
        guard minimum <= bytes.count - offset else { throw .countsExceedMessage(at: 4) }

        var message = DNSMessage(id: id, flags: flags)
        message.questions.reserveCapacity(questionCount)
        for _ in 0..<questionCount {
            let name = try readName()
            let type = try readUInt16("a question")
            let rawClass = try readUInt16("a question")
            message.questions.append(
                DNSQuestion(name: name, type: DNSRecordType(rawValue: type), recordClass: rawClass & 0x7FFF, unicastResponse: rawClass & 0x8000 != 0)
            )
        }
        message.answers = try readRecords(answerCount)
        message.authorities = try readRecords(authorityCount)
        message.additionals = try readRecords(additionalCount)
        return message
    }

    private mutating func readRecords(_ count: Int) throws(DNSMessageError) -> [DNSResourceRecord] {
        var records: [DNSResourceRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count { records.append(try readRecord()) }
        return records
    }

    private mutating func readRecord() throws(DNSMessageError) -> DNSResourceRecord {
        let name = try readName()
        let type = DNSRecordType(rawValue: try readUInt16("a record header"))
        let rawClass = try readUInt16("a record header")
        let ttl = try readUInt32("a record header")
        let length = Int(try readUInt16("a record header"))
        let start = offset
        guard length <= bytes.count - start else { throw .truncated(at: start, reading: "the data of a \(type) record") }
        let end = start + length
        let data: DNSRecordData
        switch type {
        case .a, .aaaa:
            guard length == (type == .a ? 4 : 16) else { throw .rdataLengthMismatch(at: start, type: type.rawValue) }
            data = type == .a ? .a(Array(bytes[start..<end])) : .aaaa(Array(bytes[start..<end]))
            offset = end
        case .ptr:
            data = .ptr(try readName(within: end))
        case .srv:
            let priority = try readUInt16("an SRV record", within: end)
            let weight = try readUInt16("an SRV record", within: end)
            let port = try readUInt16("an SRV record", within: end)
            data = .srv(priority: priority, weight: weight, port: port, target: try readName(within: end))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let stringLength = Int(bytes[offset])
                guard stringLength < end - offset else { throw .rdataLengthMismatch(at: offset, type: type.rawValue) }
                strings.append(Array(bytes[(offset + 1)..<(offset + 1 + stringLength)]))
                offset += 1 + stringLength
            }
            data = .txt(strings)
        case .nsec:
            let next = try readName(within: end)
            var types: [DNSRecordType] = []
            while offset < end {
                guard end - offset >= 2 else { throw .rdataLengthMismatch(at: offset, type: type.rawValue) }
                let window = Int(bytes[offset])
                let mapLength = Int(bytes[offset + 1])
                guard mapLength >= 1, mapLength <= 32, mapLength <= end - offset - 2 else {
                    throw .rdataLengthMismatch(at: offset, type: type.rawValue)
                }
                for index in 0..<mapLength {
                    let byte = bytes[offset + 2 + index]
                    for bit in 0..<8 where byte & (0x80 >> bit) != 0 {
                        types.append(DNSRecordType(rawValue: UInt16(window * 256 + index * 8 + bit)))
                    }
                }
                offset += 2 + mapLength
            }
            data = .nsec(next: next, types: types)
        default:
            data = .opaque(Array(bytes[start..<end]))
            offset = end
        }
        guard offset == end else { throw .rdataLengthMismatch(at: start, type: type.rawValue) }
        return DNSResourceRecord(name: name, type: type, recordClass: rawClass & 0x7FFF, cacheFlush: rawClass & 0x8000 != 0, ttl: ttl, data: data)
    }

    /// Reads a possibly compressed name at `offset`, leaving `offset` after it (after the
    /// first pointer when there is one). `limit` is where the enclosing field ends.
    mutating func readName(within limit: Int? = nil) throws(DNSMessageError) -> DNSName {
        let limit = limit ?? bytes.count
        var labels: [[UInt8]] = []
        var position = offset
        var end: Int? = nil
        var hops = 0
        var wireLength = 1
        // The lowest byte reached so far: every pointer must go below it, so no byte is
        // read twice and loops are impossible even before the hop limit.
        var floor = position
        while true {
            let fieldLimit = end == nil ? limit : bytes.count
            guard position < fieldLimit else { throw .truncated(at: position, reading: "a name") }
            let length = Int(bytes[position])
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    offset = end ?? position + 1
                    return DNSName(labels: labels)
                }
                guard length < fieldLimit - position else { throw .truncated(at: position, reading: "a label") }
                wireLength += 1 + length
                guard wireLength <= 255 else { throw .nameTooLong(at: position) }
                labels.append(Array(bytes[(position + 1)...(position + length)]))
                position += 1 + length
            case 0xC0:
                guard position + 1 < fieldLimit else { throw .truncated(at: position, reading: "a compression pointer") }
                let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < floor else { throw .forwardPointer(at: position, target: target) }
                hops += 1
                guard hops <= DNSMessage.maximumPointerHops else { throw .tooManyPointers(at: position) }
                if end == nil { end = position + 2 }
                floor = target
                position = target
            default:
                throw .badLabelType(at: position)
            }
        }
    }

    private mutating func readUInt16(_ what: String, within limit: Int? = nil) throws(DNSMessageError) -> UInt16 {
        guard offset + 2 <= (limit ?? bytes.count) else { throw .truncated(at: offset, reading: what) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    private mutating func readUInt32(_ what: String) throws(DNSMessageError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw .truncated(at: offset, reading: what) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }
}
