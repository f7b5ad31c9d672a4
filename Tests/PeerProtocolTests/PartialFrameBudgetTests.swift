import NIOCore
import NIOEmbedded
import PeerProtocol
import Testing

/// Partial frames of all sessions share one budget: a session that would overspend it is
/// closed, the others keep theirs, and a closed session gives its bytes back.
@Suite("Partial frame budget")
struct PartialFrameBudgetTests {
    /// A channel decoding frames against `budget`.
    func session(_ budget: PartialFrameBudget) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PeerFrameDecoder(budget: budget)))
        return channel
    }

    /// The header of a ping frame padded to `length` bytes after the length field, and
    /// `sent` bytes of it after the header (never complete).
    func partialFrame(length: Int, sent: Int) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(length))
        buffer.writeInteger(UInt16(3))
        buffer.writeInteger(UInt16(0))
        buffer.writeRepeatingByte(0, count: sent)
        return buffer
    }

    @Test func aSessionThatWouldPassTheTotalIsClosedAndTheOthersKeepTheirs() throws {
        let budget = PartialFrameBudget(limit: 600 * 1024)
        let sessions = try (0..<3).map { _ in try session(budget) }
        // Two sessions hold 250 KiB each: 2 × (250 − 16) KiB charged.
        for channel in sessions.prefix(2) {
            try channel.writeInbound(partialFrame(length: 256 * 1024, sent: 250 * 1024 - 8))
        }
        #expect(budget.inUse == 2 * (250 * 1024 - PartialFrameBudget.freePerSession))
        // The third one's 250 KiB would pass 600 KiB.
        #expect(performing: { try sessions[2].writeInbound(partialFrame(length: 256 * 1024, sent: 250 * 1024 - 8)) }, throws: {
            ($0 as? PeerProtocolError)?.code == .overloaded && "\($0)".contains("partial frames of all sessions")
        })
        #expect(budget.refused == 1)
        #expect(budget.inUse == 2 * (250 * 1024 - PartialFrameBudget.freePerSession))
        // A small partial frame costs nothing, so a real peer's hello gets through however full the budget is.
        let small = try session(budget)
        try small.writeInbound(partialFrame(length: 1024, sent: 500))
        #expect(budget.inUse == 2 * (250 * 1024 - PartialFrameBudget.freePerSession))
        // Closing one session gives its share back.
        _ = try sessions[0].finish(acceptAlreadyClosed: true)
        #expect(budget.inUse == 250 * 1024 - PartialFrameBudget.freePerSession)
        _ = try sessions[1].finish(acceptAlreadyClosed: true)
        _ = try small.finish(acceptAlreadyClosed: true)
        #expect(budget.inUse == 0)
    }

    @Test func aFrameThatCompletesReleasesItsCharge() throws {
        let budget = PartialFrameBudget(limit: 1024 * 1024)
        let channel = try session(budget)
        let length = 64 * 1024
        var frame = ByteBuffer()
        try PeerMessageCodec.encode(.objectResponse(ObjectResponse(requestID: 1, result: .found(revision: 1, data: ByteBuffer(repeating: 7, count: length)))), into: &frame)
        var first = frame.readSlice(length: frame.readableBytes - 10)!
        try channel.writeInbound(first)
        #expect(budget.inUse == first.readableBytes - PartialFrameBudget.freePerSession)
        first.clear()
        try channel.writeInbound(frame)
        #expect(budget.inUse == 0)
        let decoded: PeerInboundMessage? = try channel.readInbound()
        #expect(decoded != nil)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}
