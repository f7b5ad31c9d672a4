// Fuzz target: the frame reader and message decoder over an arbitrary byte stream, as the
// PeerFrameDecoder sees it. Any input may fail with a PeerProtocolError; none may crash,
// hang or read out of bounds. What decodes must re-encode to the same bytes.
import NIOCore
import PeerProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start, count: count)
    var buffer = ByteBuffer(bytes: bytes)
    // Small limit too, so the fuzzer meets frameTooLarge without huge inputs.
    let maximum = bytes.first.map { $0 & 1 == 0 } ?? true ? PeerProtocolLimits.defaultMaximumFrameLength : 1024
    while true {
        let frame: PeerFrame?
        do {
            frame = try PeerFrame.read(from: &buffer, maximumLength: maximum)
        } catch {
            return 0
        }
        guard let frame else { return 0 }
        guard case .message(let message) = try? PeerMessageCodec.decode(frame) else { continue }
        var reencoded = ByteBuffer()
        do {
            try PeerMessageCodec.encode(message, into: &reencoded)
        } catch {
            fatalError("a decoded \(message.type) does not re-encode: \(error)")
        }
        guard case .message(let again)? = try? PeerMessageCodec.decode(PeerFrame.read(from: &reencoded, maximumLength: Int.max)!) else {
            fatalError("a re-encoded \(message.type) does not decode")
        }
        precondition(again == message, "\(message.type) changed in a round trip")
    }
}
