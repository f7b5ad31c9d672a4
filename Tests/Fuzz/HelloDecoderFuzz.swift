// Fuzz target: the hello body decoder (the first thing an unauthenticated-by-hello peer
// controls). The input is the body; the frame header is added here.
import NIOCore
import PeerProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHelloDecoder(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let frame = PeerFrame(type: .hello, body: ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count)))
    guard case .message(.hello(let hello))? = try? PeerMessageCodec.decode(frame) else { return 0 }
    precondition(hello.versions.lowerBound >= 1, "decoded a hello with version 0")
    precondition(hello.capabilities.count <= PeerProtocolLimits.capabilitiesMaximumCount, "too many capabilities decoded")
    var body = ByteBuffer()
    do {
        try PeerMessageCodec.writeBody(of: .hello(hello), to: &body)
    } catch {
        fatalError("a decoded hello does not re-encode: \(error)")
    }
    guard case .message(.hello(let again))? = try? PeerMessageCodec.decode(PeerFrame(type: .hello, body: body)) else {
        fatalError("a re-encoded hello does not decode")
    }
    precondition(again == hello, "hello changed in a round trip")
    return 0
}
