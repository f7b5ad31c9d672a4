import NIOCore

/// Cuts the inbound byte stream into frames and decodes each into a ``PeerInboundMessage``.
///
/// Use inside `ByteToMessageHandler`. A partial frame waits for more bytes; a frame whose
/// header announces more than `maximumFrameLength` fails at once with
/// ``PeerProtocolError/Code/frameTooLarge`` (before its body is buffered), and any other
/// broken frame fails with its own code; the error travels down the pipeline through
/// `errorCaught`, where ``PeerSessionHandler`` says goodbye and closes. With a
/// ``PartialFrameBudget``, the bytes of a partial frame past the budget's free share are
/// charged to it while they wait, and a frame that would overspend it fails the session
/// with ``PeerProtocolError/Code/overloaded``.
public struct PeerFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = PeerInboundMessage

    /// The largest frame length accepted (the bytes after the length field).
    public let maximumFrameLength: Int

    /// Shared by every session of the process; nil: no total bound.
    public let budget: PartialFrameBudget?
    /// What this session has charged to `budget` now.
    private var charged = 0

    /// Makes a decoder with the given limit.
    public init(maximumFrameLength: Int = PeerProtocolLimits.defaultMaximumFrameLength, budget: PartialFrameBudget? = nil) {
        self.maximumFrameLength = maximumFrameLength
        self.budget = budget
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try PeerFrame.read(from: &buffer, maximumLength: maximumFrameLength) else {
            try chargeWaiting(buffer.readableBytes)
            return .needMoreData
        }
        // Only ever less now (an empty buffer is never decoded again, so this is where a
        // finished frame gives its charge back); what follows is charged when it waits.
        if buffer.readableBytes < charged + PartialFrameBudget.freePerSession { try chargeWaiting(buffer.readableBytes) }
        context.fireChannelRead(wrapInboundOut(try PeerMessageCodec.decode(frame)))
        return .continue
    }

    /// Makes the charge match the `waiting` bytes held now.
    private mutating func chargeWaiting(_ waiting: Int) throws {
        guard let budget else { return }
        let due = max(0, waiting - PartialFrameBudget.freePerSession)
        if due < charged {
            budget.release(charged - due)
            charged = due
        } else if due > charged {
            guard budget.charge(due - charged) else {
                throw PeerProtocolError.partialFramesOverBudget(waiting: waiting, inUse: budget.inUse, limit: budget.limit)
            }
            charged = due
        }
    }

    public mutating func decoderRemoved(context: ChannelHandlerContext) {
        budget?.release(charged)
        charged = 0
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A partial frame left at EOF is simply dropped: the session is over either way.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
