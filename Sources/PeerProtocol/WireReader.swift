import NIOCore

/// Reads the fields of one message body, each read bounded by the body's end and by the field's limit.
///
/// Every length is checked against its limit before anything is read or allocated, so a hostile
/// length costs nothing; every string is validated as UTF-8; ``finish()`` rejects trailing bytes.
struct WireReader {
    private var body: ByteBuffer

    init(body: ByteBuffer) {
        self.body = body
    }

    mutating func readUInt8(_ field: String) throws(PeerProtocolError) -> UInt8 {
        guard let value = body.readInteger(as: UInt8.self) else { throw .truncated(field) }
        return value
    }

    mutating func readUInt16(_ field: String) throws(PeerProtocolError) -> UInt16 {
        guard let value = body.readInteger(endianness: .big, as: UInt16.self) else { throw .truncated(field) }
        return value
    }

    mutating func readUInt32(_ field: String) throws(PeerProtocolError) -> UInt32 {
        guard let value = body.readInteger(endianness: .big, as: UInt32.self) else { throw .truncated(field) }
        return value
    }

    mutating func readUInt64(_ field: String) throws(PeerProtocolError) -> UInt64 {
        guard let value = body.readInteger(endianness: .big, as: UInt64.self) else { throw .truncated(field) }
        return value
    }

    /// A count (u16) that must not exceed `limit`; checked before any element is read.
    mutating func readCount(_ field: String, limit: Int) throws(PeerProtocolError) -> Int {
        let count = Int(try readUInt16("\(field) count"))
        guard count <= limit else { throw .limitExceeded("\(field) count", actual: count, limit: limit) }
        return count
    }

    /// A string: u16 byte length, then that many bytes of valid UTF-8.
    mutating func readString(_ field: String, maximumBytes: Int) throws(PeerProtocolError) -> String {
        let length = Int(try readUInt16("\(field) length"))
        guard length <= maximumBytes else {
            throw .limitExceeded("\(field) length in bytes", actual: length, limit: maximumBytes)
        }
        guard let slice = body.readSlice(length: length) else { throw .truncated(field) }
        guard let string = String(validating: slice.readableBytesView, as: UTF8.self) else {
            throw .invalidUTF8(field)
        }
        return string
    }

    /// Opaque bytes: u32 length, then that many bytes.
    mutating func readBytes(_ field: String, maximumBytes: Int) throws(PeerProtocolError) -> ByteBuffer {
        let length = Int(try readUInt32("\(field) length"))
        guard length <= maximumBytes else {
            throw .limitExceeded("\(field) length in bytes", actual: length, limit: maximumBytes)
        }
        guard let slice = body.readSlice(length: length) else { throw .truncated(field) }
        return slice
    }

    /// Whether bytes are left: an optional trailing field follows.
    var hasMore: Bool { body.readableBytes > 0 }

    /// Bytes left in the body.
    var remainingBytes: Int { body.readableBytes }

    /// Ends the body: a known message with bytes left over is malformed, not a newer version.
    func finish(_ message: String) throws(PeerProtocolError) {
        guard body.readableBytes == 0 else {
            throw .malformed(message, "\(body.readableBytes) trailing bytes after the last field")
        }
    }
}

extension ByteBuffer {
    /// Writes a string as u16 byte length and its UTF-8 bytes; the caller has checked its limit.
    mutating func writeWireString(_ string: String) {
        let length = string.utf8.count
        precondition(length <= Int(UInt16.max), "string field longer than its checked limit")
        writeInteger(UInt16(length), endianness: .big)
        writeString(string)
    }

    /// Writes opaque bytes as u32 length and the bytes; the caller has checked its limit.
    mutating func writeWireBytes(_ bytes: ByteBuffer) {
        writeInteger(UInt32(bytes.readableBytes), endianness: .big)
        writeImmutableBuffer(bytes)
    }
}
