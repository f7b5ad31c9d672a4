import NIOCore

/// A message body with its own encoder and decoder; both apply the same ``WireRules``.
protocol WireBody {
    /// Reads the fields in wire order; the codec then rejects trailing bytes.
    init(reading reader: inout WireReader) throws(PeerProtocolError)
    /// Checks every field against its limit, then writes the fields in wire order.
    func write(to buffer: inout ByteBuffer) throws(PeerProtocolError)
}
