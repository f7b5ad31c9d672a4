import NIOCore

/// Cuts the inbound byte stream into frames and decodes each into a ``PeerInboundMessage``.
///
/// Use inside `ByteToMessageHandler`. A partial frame waits for more bytes; a frame whose
/// header announces more than `maximumFrameLength` fails at once with
/// ``PeerProtocolError/Code/frameTooLarge`` (before its body is buffered), and any other
/// broken frame fails with its own code; the error travels down the pipeline through
/// `errorCaught`, where ``PeerSessionHandler`` says goodbye and closes.
public struct PeerFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = PeerInboundMessage

    /// The largest frame length accepted (the bytes after the length field).
    public let maximumFrameLength: Int

    /// Makes a decoder with the given limit.
    public init(maximumFrameLength: Int = PeerProtocolLimits.defaultMaximumFrameLength) {
        self.maximumFrameLength = maximumFrameLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try PeerFrame.read(from: &buffer, maximumLength: maximumFrameLength) else {
            return .needMoreData
        }
        context.fireChannelRead(wrapInboundOut(try PeerMessageCodec.decode(frame)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame left at EOF is simply dropped: the session is over either way.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
