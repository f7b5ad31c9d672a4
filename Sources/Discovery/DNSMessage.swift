/// A DNS message as mDNS uses it (RFC 1035 §4, RFC 6762 §18): a header and four sections.
public struct DNSMessage: Hashable, Sendable {
    /// mDNS messages may be up to 9000 bytes (RFC 6762 §17); larger ones are refused.
    public static let maximumLength = 9000
    /// More hops than this through compression pointers is treated as an attack.
    public static let maximumPointerHops = 128

    public var id: UInt16
    /// The flags word: QR (0x8000), opcode, AA (0x0400), TC (0x0200), ..., rcode.
    public var flags: UInt16
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    public var additionals: [DNSResourceRecord]

    public init(
        id: UInt16 = 0, flags: UInt16 = 0, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [],
        authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []
    ) {
        self.id = id
        self.flags = flags
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// Flags of an mDNS response: QR and AA.
    public static let responseFlags: UInt16 = 0x8400

    /// A response (QR set) rather than a query.
    public var isResponse: Bool { flags & 0x8000 != 0 }
    /// Opcode 0 (standard query); mDNS ignores others.
    public var isStandardOpcode: Bool { (flags >> 11) & 0xF == 0 }
    /// More known answers follow in another packet (RFC 6762 §7.2).
    public var isTruncated: Bool {
        get { flags & 0x0200 != 0 }
        set { flags = newValue ? flags | 0x0200 : flags & ~0x0200 }
    }

    /// Reads a message, refusing anything malformed (see `DNSMessageError.Code`).
    public init(decoding bytes: some Collection<UInt8>) throws(DNSMessageError) {
        var reader = DNSMessageReader(bytes: Array(bytes))
        self = try reader.readMessage()
    }

    /// The message in wire format, with names compressed.
    public func encoded() throws(DNSMessageError) -> [UInt8] {
        var writer = DNSMessageWriter(compress: true)
        try writer.writeMessage(self)
        return writer.bytes
    }

    /// All records of the message, answers first.
    public var allRecords: [DNSResourceRecord] { answers + authorities + additionals }
}
