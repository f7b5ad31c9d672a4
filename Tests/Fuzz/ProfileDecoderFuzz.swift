// Fuzz target: the profile body decoder (display name, presence, application and object
// lists). The input is the body; the frame header is added here.
import NIOCore
import PeerProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProfileDecoder(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let frame = PeerFrame(type: .profile, body: ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count)))
    guard case .message(.profile(let profile))? = try? PeerMessageCodec.decode(frame) else { return 0 }
    let scalars = profile.displayName.unicodeScalars
    precondition((1...128).contains(scalars.count), "display name length out of bounds")
    precondition(!scalars.contains { $0.properties.generalCategory == .control }, "control character in a display name")
    precondition(profile.applicationIDs.count <= 64 && profile.objects.count <= 128, "too many entries decoded")
    precondition(profile.presence.message.utf8.count <= 1024, "presence message too long")
    var body = ByteBuffer()
    do {
        try PeerMessageCodec.writeBody(of: .profile(profile), to: &body)
    } catch {
        fatalError("a decoded profile does not re-encode: \(error)")
    }
    guard case .message(.profile(let again))? = try? PeerMessageCodec.decode(PeerFrame(type: .profile, body: body)) else {
        fatalError("a re-encoded profile does not decode")
    }
    precondition(again == profile, "profile changed in a round trip")
    return 0
}
