// Fuzz target: the mDNS message decoder over arbitrary packets, as the built-in responder
// receives them. Any input may fail with a DNSMessageError; none may crash, hang or read
// out of bounds. What decodes must re-encode, and the re-encoded form must be stable.
import Discovery

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSMessage(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start, count: count)
    guard let message = try? DNSMessage(decoding: bytes) else { return 0 }
    guard let encoded = try? message.encoded() else {
        fatalError("a decoded message does not re-encode")
    }
    guard let again = try? DNSMessage(decoding: encoded), let encodedAgain = try? again.encoded() else {
        fatalError("a re-encoded message does not decode")
    }
    precondition(encodedAgain == encoded, "the encoding of a decoded message is not stable")
    return 0
}
