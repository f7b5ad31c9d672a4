import NIOCore

/// Writes each outbound ``PeerMessage`` as one frame. Use inside `MessageToByteHandler`.
///
/// A message that breaks a field limit fails its write with the ``PeerProtocolError`` and
/// writes nothing.
public struct PeerFrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = PeerMessage

    /// Makes an encoder.
    public init() {}

    public func encode(data: PeerMessage, out: inout ByteBuffer) throws {
        try PeerMessageCodec.encode(data, into: &out)
    }
}
