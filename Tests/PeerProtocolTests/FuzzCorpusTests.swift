import FoundationEssentials
import NIOCore
import PeerProtocol
import Testing

/// The fuzzers' seed corpus under Tests/Fuzz/Corpus is made from ``SampleMessages``; this
/// suite checks that the committed seeds still are what the codec writes (and that the
/// hostile ones still fail), so a change of wire format cannot leave the fuzzers starting
/// from stale inputs. `PEERPROTOCOL_WRITE_FUZZ_CORPUS=1 swift test --filter FuzzCorpus`
/// rewrites them.
@Suite("Fuzz seed corpus")
struct FuzzCorpusTests {
    static let corpus = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "Fuzz/Corpus")

    struct Seed {
        var target: String
        var name: String
        var bytes: [UInt8]
        var valid: Bool
    }

    static func body(_ message: PeerMessage) throws -> [UInt8] {
        var buffer = ByteBuffer()
        try PeerMessageCodec.writeBody(of: message, to: &buffer)
        return Array(buffer.readableBytesView)
    }

    static func seeds() throws -> [Seed] {
        var seeds: [Seed] = []
        var everything: [UInt8] = []
        for (index, message) in SampleMessages.all.enumerated() {
            let frame = Array(try SampleMessages.frameBytes(message).readableBytesView)
            everything += frame
            seeds.append(Seed(target: "FrameDecoderFuzz", name: "valid-\(index)-\(message.type)", bytes: frame, valid: true))
            switch message {
            case .hello: seeds.append(Seed(target: "HelloDecoderFuzz", name: "valid-\(index)", bytes: try body(message), valid: true))
            case .profile: seeds.append(Seed(target: "ProfileDecoderFuzz", name: "valid-\(index)", bytes: try body(message), valid: true))
            default: break
            }
        }
        seeds.append(Seed(target: "FrameDecoderFuzz", name: "valid-all", bytes: everything, valid: true))
        let hostileFrames: [(String, [UInt8])] = [
            ("oversize-length", [0x7F, 0xFF, 0xFF, 0xFF, 0, 1, 0, 0]),
            ("length-below-header", [0, 0, 0, 2, 0, 1]),
            ("unknown-must-understand", [0, 0, 0, 5, 0x7F, 0x01, 0, 1, 0xAA]),
            ("truncated-hello-string", [0, 0, 0, 12, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0xFF, 0xFF]),
        ]
        for (name, bytes) in hostileFrames { seeds.append(Seed(target: "FrameDecoderFuzz", name: "hostile-\(name)", bytes: bytes, valid: false)) }
        let hostileHellos: [(String, [UInt8])] = [
            ("huge-count", [0, 1, 0, 1, 0xFF, 0xFF]),
            ("version-zero", [0, 0, 0, 1, 0, 0, 0, 0]),
            ("invalid-utf8", [0, 1, 0, 1, 0, 0, 0, 2, 0xC0, 0x80]),
        ]
        for (name, bytes) in hostileHellos { seeds.append(Seed(target: "HelloDecoderFuzz", name: "hostile-\(name)", bytes: bytes, valid: false)) }
        let hostileProfiles: [(String, [UInt8])] = [
            ("control-in-name", [0, 3, 0x41, 0x1B, 0x42, 7, 0, 0, 0, 0, 0, 0]),
            ("invalid-utf8-name", [0, 2, 0xED, 0xA0, 7, 0, 0, 0, 0, 0, 0]),
            ("huge-object-count", [0, 1, 0x41, 7, 0, 0, 0, 0, 0xFF, 0xFF]),
            ("name-past-end", [0xFF, 0xFF, 0x41]),
        ]
        for (name, bytes) in hostileProfiles { seeds.append(Seed(target: "ProfileDecoderFuzz", name: "hostile-\(name)", bytes: bytes, valid: false)) }
        return seeds
    }

    static func decodes(_ seed: Seed) -> Bool {
        var buffer = ByteBuffer(bytes: seed.bytes)
        switch seed.target {
        case "FrameDecoderFuzz":
            guard let messages = try? PeerMessageCodec.decodeFrames(from: &buffer) else { return false }
            return !messages.isEmpty && buffer.readableBytes == 0
        case "HelloDecoderFuzz":
            return (try? PeerMessageCodec.decode(PeerFrame(type: .hello, body: buffer))) != nil
        default:
            return (try? PeerMessageCodec.decode(PeerFrame(type: .profile, body: buffer))) != nil
        }
    }

    @Test("committed seeds match the codec; hostile seeds are rejected")
    func seedsAreCurrent() throws {
        let write = ProcessInfo.processInfo.environment["PEERPROTOCOL_WRITE_FUZZ_CORPUS"] == "1"
        for seed in try Self.seeds() {
            #expect(Self.decodes(seed) == seed.valid, "\(seed.target)/\(seed.name)")
            let file = Self.corpus.appending(path: "\(seed.target)/\(seed.name).bin")
            if write {
                try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(seed.bytes).write(to: file)
            } else {
                let committed = try Data(contentsOf: file)
                #expect(Array(committed) == seed.bytes, "\(file.path) is stale; rerun with PEERPROTOCOL_WRITE_FUZZ_CORPUS=1")
            }
        }
    }
}
