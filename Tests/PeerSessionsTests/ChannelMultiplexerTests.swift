import NIOCore
import PeerProtocol
import PeerSessions
import Testing

/// The channel multiplexer of two link ends, wired by hand: frames are moved between them
/// by the test, time is made up, so every rule is checked in microseconds.
@Suite struct ChannelMultiplexerTests {
    let start = ContinuousClock.now
    static let keyA = ChannelKey(invitationWireID: "inv1", localIsInviter: true, name: "chat")
    static let keyB = ChannelKey(invitationWireID: "inv1", localIsInviter: false, name: "chat")

    /// Moves every frame from `from` to `to`; returns them.
    @discardableResult
    func move(_ from: inout ChannelMultiplexer, _ to: inout ChannelMultiplexer, at now: ContinuousClock.Instant? = nil) throws -> [PeerMessage] {
        var moved: [PeerMessage] = []
        while let frame = from.nextFrame() {
            moved.append(frame)
            try to.received(frame, now: now ?? start)
        }
        return moved
    }

    func bytes(_ count: Int, _ value: UInt8 = 0x41) -> ByteBuffer { ByteBuffer(repeating: value, count: count) }

    func delivered(_ events: [ChannelMultiplexer.Event]) -> Int {
        events.reduce(0) { if case .deliver(_, let buffer) = $1 { $0 + buffer.readableBytes } else { $0 } }
    }

    /// Two ends with one connected channel each.
    func connected() throws -> (a: ChannelMultiplexer, b: ChannelMultiplexer, idA: ChannelID, idB: ChannelID) {
        var a = ChannelMultiplexer()
        var b = ChannelMultiplexer()
        let idA = try a.open(Self.keyA)
        try move(&a, &b)
        let idB = try b.open(Self.keyB)
        try move(&b, &a)
        return (a, b, idA, idB)
    }

    @Test func opensMeetByKeyWhoeverOpensFirst() throws {
        var a = ChannelMultiplexer()
        var b = ChannelMultiplexer()
        let idA = try a.open(Self.keyA)
        #expect(a.listing(idA)?.state == .waiting)
        // Nothing is taken from a waiting channel: there is no window yet.
        #expect(a.readAllowance(idA) == 0)
        try move(&a, &b)
        #expect(b.count == 1, "the peer's open waits on B")
        let idB = try b.open(Self.keyB)
        #expect(b.takeEvents().contains(.connected(idB)))
        try move(&b, &a)
        #expect(a.takeEvents().contains(.connected(idA)))
        #expect(a.listing(idA)?.state == .open)
        #expect(a.readAllowance(idA) == PeerProtocolLimits.channelInitialWindowBytes)
        // The same name of the other direction's invitation is another channel.
        var c = ChannelMultiplexer()
        _ = try c.open(ChannelKey(invitationWireID: "inv1", localIsInviter: false, name: "chat"))
        var d = ChannelMultiplexer()
        let other = try d.open(ChannelKey(invitationWireID: "inv1", localIsInviter: false, name: "chat"))
        try move(&c, &d)
        #expect(d.listing(other)?.state == .waiting)
    }

    @Test func creditComesBackOnlyAsTheApplicationReads() throws {
        var (a, b, idA, idB) = try connected()
        let window = PeerProtocolLimits.channelInitialWindowBytes
        a.applicationWrote(idA, bytes(window))
        #expect(a.readAllowance(idA) == 0, "all the credit is queued")
        try move(&a, &b)
        #expect(delivered(b.takeEvents()) == window)
        // B's application has read nothing: no update, A stays blocked.
        #expect(b.nextFrame() == nil)
        b.consumed(idB, count: window / 2 - 1, now: start)
        #expect(b.nextFrame() == nil, "less than half the window consumed")
        b.consumed(idB, count: 1, now: start)
        let update = try move(&b, &a)
        #expect(update == [.channelWindow(channelID: idB, increment: UInt32(window / 2))])
        #expect(a.takeEvents().contains(.creditAvailable(idA)))
        #expect(a.readAllowance(idA) == window / 2)
    }

    @Test func dataPastTheWindowIsAProtocolError() throws {
        var (a, b, idA, _) = try connected()
        let window = PeerProtocolLimits.channelInitialWindowBytes
        // A hostile sender ignores its credit: 16 KiB chunks until one goes past.
        var sent = 0
        while sent < window {
            try b.received(.channelData(ChannelData(channelID: idA, bytes: bytes(16 * 1024))), now: start)
            sent += 16 * 1024
        }
        #expect(throws: PeerProtocolError.self) {
            try b.received(.channelData(ChannelData(channelID: idA, bytes: bytes(1))), now: start)
        }
        _ = a
    }

    @Test func dataBeforeTheOpenWasAnsweredOrOnANeverOpenedChannelIsAProtocolError() throws {
        var a = ChannelMultiplexer()
        var b = ChannelMultiplexer()
        let idA = try a.open(Self.keyA)
        try move(&a, &b)
        #expect(throws: PeerProtocolError.self) { try b.received(.channelData(ChannelData(channelID: idA, bytes: bytes(1))), now: start) }
        var c = ChannelMultiplexer()
        #expect(throws: PeerProtocolError.self) { try c.received(.channelWindow(channelID: 9, increment: 1), now: start) }
        #expect(throws: PeerProtocolError.self) { try c.received(.channelEOF(channelID: 9), now: start) }
    }

    @Test func thePeersOpensAreLimited() throws {
        var b = ChannelMultiplexer()
        for index in 1...16 {
            try b.received(.channelOpen(ChannelOpen(channelID: UInt32(index), invitationID: "inv\(index)", side: .senderInvited, name: "n", window: 1024)), now: start)
        }
        #expect(throws: PeerProtocolError.self, "a 17th unanswered open") {
            try b.received(.channelOpen(ChannelOpen(channelID: 17, invitationID: "inv17", side: .senderInvited, name: "n", window: 1024)), now: start)
        }
        // Ids only grow: a reused id is refused.
        var c = ChannelMultiplexer()
        try c.received(.channelOpen(ChannelOpen(channelID: 5, invitationID: "i", side: .senderInvited, name: "a", window: 1)), now: start)
        #expect(throws: PeerProtocolError.self) {
            try c.received(.channelOpen(ChannelOpen(channelID: 5, invitationID: "i", side: .senderInvited, name: "b", window: 1)), now: start)
        }
        // A peer lending more than the per-link buffer.
        var d = ChannelMultiplexer()
        for index in 1...2 {
            try d.received(.channelOpen(ChannelOpen(channelID: UInt32(index), invitationID: "i\(index)", side: .senderInvited, name: "a", window: 16 << 20)), now: start)
        }
        #expect(throws: PeerProtocolError.self) {
            try d.received(.channelOpen(ChannelOpen(channelID: 3, invitationID: "i3", side: .senderInvited, name: "a", window: 1)), now: start)
        }
    }

    @Test func localOpensAreLimitedWithReasons() throws {
        var a = ChannelMultiplexer()
        _ = try a.open(Self.keyA)
        #expect(throws: ChannelOpenRefusal.nameInUse) { _ = try a.open(Self.keyA) }
        for index in 1..<16 { _ = try a.open(ChannelKey(invitationWireID: "inv2", localIsInviter: true, name: "c\(index)")) }
        #expect(throws: ChannelOpenRefusal.tooManyUnanswered(limit: 16)) {
            _ = try a.open(ChannelKey(invitationWireID: "inv3", localIsInviter: true, name: "x"))
        }
        var limits = ChannelLimits()
        limits.unansweredOpens = 100
        var p = ChannelMultiplexer(limits: limits)
        for index in 0..<16 { _ = try p.open(ChannelKey(invitationWireID: "inv1", localIsInviter: true, name: "c\(index)")) }
        #expect(throws: ChannelOpenRefusal.tooManyOnInvitation(limit: 16)) {
            _ = try p.open(ChannelKey(invitationWireID: "inv1", localIsInviter: true, name: "c16"))
        }
        // 64 on a link.
        var e = ChannelMultiplexer(limits: limits)
        for index in 0..<64 { _ = try e.open(ChannelKey(invitationWireID: "i\(index / 16)", localIsInviter: true, name: "c\(index)")) }
        #expect(throws: ChannelOpenRefusal.tooManyOnLink(limit: 64)) { _ = try e.open(ChannelKey(invitationWireID: "i9", localIsInviter: true, name: "x")) }
    }

    @Test func halfCloseInEachDirectionThenACleanEndOnBothSides() throws {
        var (a, b, idA, idB) = try connected()
        _ = a.takeEvents()
        _ = b.takeEvents()
        a.applicationWrote(idA, bytes(100))
        a.applicationFinished(idA)
        #expect(a.listing(idA)?.state == .writeClosed)
        let frames = try move(&a, &b)
        // Data first, then the end-of-stream.
        #expect(frames.map(\.type) == [.channelData, .channelEOF])
        let events = b.takeEvents()
        #expect(delivered(events) == 100)
        #expect(events.last == .endOfStream(idB))
        #expect(b.listing(idB)?.state == .readClosed)
        // B still writes after A's end.
        b.applicationWrote(idB, bytes(10, 0x42))
        b.applicationFinished(idB)
        try move(&b, &a)
        #expect(delivered(a.takeEvents()) == 10)
        a.consumed(idA, count: 10, now: start)
        b.consumed(idB, count: 100, now: start)
        try move(&a, &b)
        try move(&b, &a)
        #expect(a.takeEvents().contains(.ended(idA, .closed)))
        #expect(b.takeEvents().contains(.ended(idB, .closed)))
        #expect(a.count == 0 && b.count == 0)
        #expect(a.bytesLent == 0 && b.bytesLent == 0, "every window given back")
    }

    @Test func aResetEndsBothSidesAtOnce() throws {
        var (a, b, idA, idB) = try connected()
        a.applicationWrote(idA, bytes(1000))
        try move(&a, &b)
        _ = b.takeEvents()
        b.end(idB, .reset)
        #expect(b.takeEvents() == [.ended(idB, .reset)])
        try move(&b, &a)
        #expect(a.takeEvents().contains(.ended(idA, .reset)))
        // Data still in flight for the ended channel is dropped, not an error.
        try b.received(.channelData(ChannelData(channelID: idA, bytes: bytes(5))), now: start)
        #expect(b.takeEvents().isEmpty)
    }

    @Test func theWindowGrowsWhenItDrainsWithinTwoRoundTripsAndStaysBelowTheLimit() throws {
        var (a, b, idA, idB) = try connected()
        var now = start
        let rtt = Duration.milliseconds(10)
        var windows: [Int] = []
        // A sender always waiting for credit, a reader that takes everything at once.
        for _ in 0..<20 {
            a.applicationWrote(idA, bytes(a.readAllowance(idA)))
            try move(&a, &b, at: now)
            let got = delivered(b.takeEvents())
            now += rtt / 2
            b.consumed(idB, count: got, now: now)
            try move(&b, &a, at: now + rtt / 2)
            now += rtt / 2
            windows.append(b.window(of: idB) ?? 0)
        }
        #expect(windows.first == PeerProtocolLimits.channelInitialWindowBytes)
        #expect(windows.last == PeerProtocolLimits.channelWindowMaximumBytes, "\(windows)")
        #expect(windows.allSatisfy { $0 <= PeerProtocolLimits.channelWindowMaximumBytes })
        #expect(b.bytesLent <= PeerProtocolLimits.channelBufferedBytesPerLinkMaximum)

        // A reader slower than the round trip keeps the first window.
        var (c, d, idC, idD) = try connected()
        for _ in 0..<50 {
            c.applicationWrote(idC, bytes(c.readAllowance(idC)))
            try move(&c, &d, at: now)
            let got = delivered(d.takeEvents())
            now += .seconds(1)
            d.consumed(idD, count: got, now: now)
            try move(&d, &c, at: now)
        }
        #expect(d.window(of: idD) == PeerProtocolLimits.channelInitialWindowBytes)
    }

    @Test func theSchedulerPutsControlFirstAndTakesChannelsInTurn() throws {
        var a = ChannelMultiplexer()
        var b = ChannelMultiplexer()
        let bulk = try a.open(ChannelKey(invitationWireID: "inv1", localIsInviter: true, name: "bulk"))
        let ping = try a.open(ChannelKey(invitationWireID: "inv1", localIsInviter: true, name: "ping"))
        try move(&a, &b)
        let bulkB = try b.open(ChannelKey(invitationWireID: "inv1", localIsInviter: false, name: "bulk"))
        _ = try b.open(ChannelKey(invitationWireID: "inv1", localIsInviter: false, name: "ping"))
        try move(&b, &a)
        a.applicationWrote(bulk, bytes(200 * 1024))
        a.applicationWrote(ping, bytes(64))
        let first = a.nextFrame()
        let second = a.nextFrame()
        guard case .channelData(let one)? = first, case .channelData(let two)? = second else {
            Issue.record("expected two data frames, got \(String(describing: first)), \(String(describing: second))")
            return
        }
        #expect(one.channelID == bulk && one.bytes.readableBytes == PeerProtocolLimits.channelChunkFillingOneRecordBytes,
                "a sender cuts chunks that fill one TLS record")
        #expect(two.channelID == ping, "the ping goes after one bulk chunk, not after the whole bulk")
        // Control overtakes queued data: B grants credit while A's bulk is queued.
        try b.received(first!, now: start)
        try b.received(second!, now: start)
        b.consumed(bulkB, count: one.bytes.readableBytes, now: start)
        b.end(bulkB, .reset)
        let next = b.nextFrame()
        #expect(next?.type == .channelClose)
        // A's queued bulk data still comes out, chunk by chunk, after A's own control.
        a.applicationFinished(ping)
        #expect(a.nextFrame()?.type == .channelEOF)
        #expect(a.nextFrame()?.type == .channelData)
    }

    @Test func aLinkThatClosesEndsEveryChannel() throws {
        var (a, _, idA, _) = try connected()
        let second = try a.open(ChannelKey(invitationWireID: "inv1", localIsInviter: true, name: "other"))
        _ = a.takeEvents()
        a.linkClosed(.peerGone)
        let events = a.takeEvents()
        #expect(events.contains(.ended(idA, .peerGone)) && events.contains(.ended(second, .peerGone)))
        #expect(a.count == 0 && a.bytesLent == 0 && a.nextFrame() == nil)
    }
}
