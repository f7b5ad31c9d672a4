import NIOCore

/// One frame on the wire: `u32 length | u16 type | u16 flags | body`, big-endian, where
/// `length` counts the bytes after itself (so it is at least 4).
public struct PeerFrame: Hashable, Sendable {
    /// Bytes of the header after the length field: type and flags.
    public static let headerLengthAfterLength = 4
    /// Bytes of the whole header.
    public static let headerLength = 8

    /// Bits of the frame header's flags field.
    public struct Flags: OptionSet, Hashable, Sendable {
        public var rawValue: UInt16

        public init(rawValue: UInt16) {
            self.rawValue = rawValue
        }

        /// A receiver that does not know this frame's type must close the session instead of
        /// skipping the frame. No v1 message sets it; it lets a later version add a message
        /// whose loss would corrupt the session.
        public static let mustUnderstand = Flags(rawValue: 0x0001)
    }

    /// Which message the body holds.
    public var type: PeerMessageType
    /// Header flags; bits this build does not know are ignored.
    public var flags: Flags
    /// The message body, exactly as long as the header said.
    public var body: ByteBuffer

    /// Makes a frame.
    public init(type: PeerMessageType, flags: Flags = [], body: ByteBuffer) {
        self.type = type
        self.flags = flags
        self.body = body
    }

    /// Takes one whole frame off the front of `buffer`, or returns nil and consumes nothing
    /// when the frame is not complete yet.
    ///
    /// The length is checked against `maximumLength` as soon as the 4 length bytes are there,
    /// before waiting for (or buffering) the body, so an oversize frame fails at once.
    public static func read(from buffer: inout ByteBuffer, maximumLength: Int) throws(PeerProtocolError) -> PeerFrame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: UInt32.self) else {
            return nil
        }
        guard length <= maximumLength else {
            throw .frameTooLarge(length: Int(length), maximum: maximumLength)
        }
        guard length >= headerLengthAfterLength else {
            throw .malformed("frame header", "length \(length) is shorter than the 4 bytes of type and flags")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        let type = buffer.readInteger(endianness: .big, as: UInt16.self)!
        let flags = buffer.readInteger(endianness: .big, as: UInt16.self)!
        let body = buffer.readSlice(length: Int(length) - headerLengthAfterLength)!
        return PeerFrame(type: PeerMessageType(rawValue: type), flags: Flags(rawValue: flags), body: body)
    }

    /// Writes header and body to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(Self.headerLengthAfterLength + body.readableBytes), endianness: .big)
        buffer.writeInteger(type.rawValue, endianness: .big)
        buffer.writeInteger(flags.rawValue, endianness: .big)
        buffer.writeImmutableBuffer(body)
    }
}
