import NIOCore
import PeerProtocol
import Testing

@Suite("Frames")
struct PeerFrameTests {
    @Test("header is u32 length, u16 type, u16 flags, big-endian")
    func headerLayout() throws {
        let bytes = try SampleMessages.frameBytes(.ping(nonce: 0x0102_0304_0506_0708))
        #expect(Array(bytes.readableBytesView) == [0, 0, 0, 12, 0, 3, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test("a chunk of the size senders cut makes a frame of exactly one TLS record")
    func sentChunkFillsOneRecord() throws {
        let chunk = ByteBuffer(repeating: 7, count: PeerProtocolLimits.channelChunkFillingOneRecordBytes)
        let bytes = try SampleMessages.frameBytes(.channelData(ChannelData(channelID: 1, bytes: chunk)))
        #expect(bytes.readableBytes == 16 * 1024)
        #expect(PeerProtocolLimits.channelChunkFillingOneRecordBytes <= PeerProtocolLimits.channelChunkMaximumBytes)
    }

    @Test("a frame fed one byte at a time appears only when complete")
    func byteByByte() throws {
        let whole = try SampleMessages.frameBytes(.profile(SampleMessages.profile))
        var buffer = ByteBuffer()
        var frames: [PeerFrame] = []
        for byte in whole.readableBytesView {
            buffer.writeInteger(byte)
            if let frame = try PeerFrame.read(from: &buffer, maximumLength: 1024) { frames.append(frame) }
            if frames.isEmpty { #expect(buffer.readerIndex == 0, "a partial frame must not be consumed") }
        }
        #expect(frames.count == 1)
        #expect(buffer.readableBytes == 0)
        #expect(try PeerMessageCodec.decode(frames[0]) == .message(.profile(SampleMessages.profile)))
    }

    @Test("an oversize length fails as soon as the 4 length bytes are in, before any body")
    func oversizeBeforeBody() {
        var buffer = ByteBuffer(bytes: [0x00, 0x04, 0x00, 0x01])  // 262145
        #expect(throws: PeerProtocolError.frameTooLarge(length: 262_145, maximum: 262_144)) {
            try PeerFrame.read(from: &buffer, maximumLength: 262_144)
        }
        var huge = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(performing: { try PeerFrame.read(from: &huge, maximumLength: 262_144) }, throws: { ($0 as? PeerProtocolError)?.code == .frameTooLarge })
    }

    @Test("three length bytes are not yet a frame")
    func partialLength() throws {
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF])
        #expect(try PeerFrame.read(from: &buffer, maximumLength: 16) == nil)
    }

    @Test("a length shorter than type and flags is malformed", arguments: [0, 1, 2, 3] as [UInt8])
    func lengthTooShort(length: UInt8) {
        var buffer = ByteBuffer(bytes: [0, 0, 0, length, 0, 3, 0, 0])
        #expect(performing: { try PeerFrame.read(from: &buffer, maximumLength: 1024) }, throws: { ($0 as? PeerProtocolError)?.code == .malformed })
    }

    @Test("several frames in one buffer decode in order, a partial tail stays")
    func severalFrames() throws {
        var buffer = ByteBuffer()
        for message in SampleMessages.all { try PeerMessageCodec.encode(message, into: &buffer) }
        buffer.writeBytes([0, 0, 0, 9, 0])
        let decoded = try PeerMessageCodec.decodeFrames(from: &buffer)
        #expect(decoded == SampleMessages.all.map { .message($0) })
        #expect(buffer.readableBytes == 5)
    }

    @Test("an unknown type is skipped with its body, and the next frame still decodes")
    func unknownTypeSkipped() throws {
        var buffer = SampleMessages.frame(type: PeerMessageType(rawValue: 0x7F01), flags: 0x8000, body: [1, 2, 3, 4, 5])
        buffer.writeImmutableBuffer(try SampleMessages.frameBytes(.ping(nonce: 1)))
        let decoded = try PeerMessageCodec.decodeFrames(from: &buffer)
        #expect(decoded == [.unknown(type: PeerMessageType(rawValue: 0x7F01), flags: PeerFrame.Flags(rawValue: 0x8000)), .message(.ping(nonce: 1))])
    }

    @Test("an unknown type marked must-understand is fatal")
    func unknownMustUnderstand() {
        var buffer = SampleMessages.frame(type: PeerMessageType(rawValue: 0x7F01), flags: 0x0001, body: [])
        #expect(performing: { try PeerMessageCodec.decodeFrames(from: &buffer) }, throws: { ($0 as? PeerProtocolError)?.code == .unexpectedMessage })
    }

    @Test("unknown flag bits on a known type are ignored")
    func unknownFlagsIgnored() throws {
        var buffer = SampleMessages.frame(type: .ping, flags: 0xFFFE, body: [0, 0, 0, 0, 0, 0, 0, 9])
        #expect(try PeerMessageCodec.decodeFrames(from: &buffer) == [.message(.ping(nonce: 9))])
    }
}
