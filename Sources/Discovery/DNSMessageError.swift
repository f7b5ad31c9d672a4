/// Why a DNS message could not be read or written. Every packet from the network is treated
/// as hostile, so each way a packet can lie about itself has its own code.
public struct DNSMessageError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of malformed or unwritable messages.
    public enum Code: String, Hashable, Sendable {
        case truncated
        case messageTooLong
        case countsExceedMessage
        case forwardPointer
        case tooManyPointers
        case nameTooLong
        case badLabelType
        case rdataLengthMismatch
        case labelTooLong
    }

    /// What kind of problem.
    public var code: Code
    /// Where in the message (byte offset) it was found, or -1 when encoding.
    public var offset: Int
    /// A sentence for logs.
    public var message: String

    public var description: String { "DNS message: \(message) (at byte \(offset))" }

    static func truncated(at offset: Int, reading what: String) -> Self {
        .init(code: .truncated, offset: offset, message: "the packet ends in the middle of \(what); it was cut short or is forged, ignoring it")
    }
    static func messageTooLong(_ length: Int, limit: Int) -> Self {
        .init(code: .messageTooLong, offset: 0, message: "the packet is \(length) bytes, more than the \(limit) an mDNS message may have, ignoring it")
    }
    static func countsExceedMessage(at offset: Int) -> Self {
        .init(code: .countsExceedMessage, offset: offset, message: "the header claims more questions and records than the packet can hold, ignoring it")
    }
    static func forwardPointer(at offset: Int, target: Int) -> Self {
        .init(code: .forwardPointer, offset: offset, message: "a compression pointer points forward to byte \(target); only backward pointers are accepted")
    }
    static func tooManyPointers(at offset: Int) -> Self {
        .init(code: .tooManyPointers, offset: offset, message: "a name follows more than \(DNSMessage.maximumPointerHops) compression pointers (a loop?)")
    }
    static func nameTooLong(at offset: Int) -> Self {
        .init(code: .nameTooLong, offset: offset, message: "a name is longer than 255 bytes")
    }
    static func badLabelType(at offset: Int) -> Self {
        .init(code: .badLabelType, offset: offset, message: "a label has a reserved type (first bits 01 or 10)")
    }
    static func rdataLengthMismatch(at offset: Int, type: UInt16) -> Self {
        .init(code: .rdataLengthMismatch, offset: offset, message: "the data of a type \(type) record does not fill exactly its stated length")
    }
    static func labelTooLong(_ length: Int) -> Self {
        .init(code: .labelTooLong, offset: -1, message: "a label of \(length) bytes cannot be written; labels hold at most 63 bytes, use a shorter name")
    }
}
