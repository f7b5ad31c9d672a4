// Frame encode/decode throughput of PeerProtocol, for 1 KiB and 64 KiB messages.
// Build and run with Benchmarks/protocol/run.sh (release build, no package target needed).
import NIOCore
import PeerProtocol

struct Case {
    var name: String
    var message: PeerMessage
}

@inline(never)
func consume<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

func measure(_ work: () throws -> Int) rethrows -> (seconds: Double, bytes: Int) {
    let clock = ContinuousClock()
    var bytes = 0
    let elapsed = try clock.measure { bytes = try work() }
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (seconds, bytes)
}

@main
struct FrameThroughput {
    static func main() throws {
        let cases = [
            Case(name: "objectResponse 1 KiB", message: .objectResponse(ObjectResponse(requestID: 1, result: .found(revision: 1, data: ByteBuffer(repeating: 0x5A, count: 1024))))),
            Case(name: "objectResponse 64 KiB", message: .objectResponse(ObjectResponse(requestID: 1, result: .found(revision: 1, data: ByteBuffer(repeating: 0x5A, count: 65536))))),
            Case(name: "presenceUpdate 1 KiB text", message: .presenceUpdate(PeerPresence(status: .online, message: String(repeating: "é", count: 512)))),
            Case(name: "invitation 64 KiB data", message: .invitation(InvitationOffer(invitationID: "i1", applicationID: "org.example.App", message: String(repeating: "m", count: 1024), data: ByteBuffer(repeating: 1, count: 65536), timeoutSeconds: 300))),
        ]
        // About 256 MiB through each direction per case, at least 20,000 messages.
        var rows: [String] = []
        print("case                         | frame bytes | encode MB/s | decode MB/s | encode msg/s | decode msg/s")
        for item in cases {
            var one = ByteBuffer()
            try PeerMessageCodec.encode(item.message, into: &one)
            let frameSize = one.readableBytes
            let count = max(20_000, (256 << 20) / frameSize)

            // Encode into one reused buffer, as a channel's encoder would per write.
            var scratch = ByteBuffer()
            scratch.reserveCapacity(frameSize)
            let encode = try measure {
                var total = 0
                for _ in 0..<count {
                    scratch.clear()
                    try PeerMessageCodec.encode(item.message, into: &scratch)
                    total += scratch.readableBytes
                }
                return total
            }

            // Decode from a stream of back-to-back frames, in 4 MiB reads.
            let perChunk = max(1, (4 << 20) / frameSize)
            var chunk = ByteBuffer()
            for _ in 0..<perChunk { chunk.writeImmutableBuffer(one) }
            let chunks = max(1, count / perChunk)
            let decode = try measure {
                var total = 0
                for _ in 0..<chunks {
                    var stream = chunk
                    while let frame = try PeerFrame.read(from: &stream, maximumLength: PeerProtocolLimits.defaultMaximumFrameLength) {
                        consume(try PeerMessageCodec.decode(frame))
                    }
                    total += chunk.readableBytes
                }
                return total
            }

            let encodeMBs = Double(encode.bytes) / encode.seconds / 1e6
            let decodeMBs = Double(decode.bytes) / decode.seconds / 1e6
            let encodeRate = Double(count) / encode.seconds
            let decodeRate = Double(chunks * perChunk) / decode.seconds
            func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
            func fmt(_ value: Double) -> String { String(Int(value.rounded())) }
            print("\(pad(item.name, 28)) | \(pad(String(frameSize), 11)) | \(pad(fmt(encodeMBs), 11)) | \(pad(fmt(decodeMBs), 11)) | \(pad(fmt(encodeRate), 12)) | \(fmt(decodeRate))")
            rows.append("{\"case\":\"\(item.name)\",\"frameBytes\":\(frameSize),\"encodeMBps\":\(fmt(encodeMBs)),\"decodeMBps\":\(fmt(decodeMBs)),\"encodeMsgps\":\(fmt(encodeRate)),\"decodeMsgps\":\(fmt(decodeRate))}")
        }
        print("JSON: [" + rows.joined(separator: ",") + "]")
    }
}
