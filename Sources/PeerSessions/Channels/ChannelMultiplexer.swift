import NIOCore
import PeerProtocol

/// The application channels of one link, without I/O: opens on both sides meet by key,
/// per-channel credit flow control (in the manner of SSH's window adjust and yamux), and a
/// send scheduler that puts control before data and takes data from the channels in turn.
///
/// The owner feeds it what happens (the peer's channel messages, the local application's
/// opens, bytes read from and consumed by the applications, time as arguments) and does what
/// comes out: ``takeEvents()`` for the applications, ``nextFrame()`` for the link, which it
/// calls while the link can take more. Every channel message carries the *sender's* id of the
/// channel; each side's ids only grow, so a message for an id already ended is recognised
/// (and dropped) and one for an id never opened is a protocol error.
public struct ChannelMultiplexer: Sendable {
    /// What the owner must do for the applications.
    public enum Event: Hashable, Sendable {
        /// Both sides opened: the stream runs.
        case connected(ChannelID)
        /// Bytes from the peer for the application; report them with ``consumed(_:count:now:)``
        /// once the application took them.
        case deliver(ChannelID, ByteBuffer)
        /// The peer's application finished writing: after the bytes delivered, end-of-stream.
        case endOfStream(ChannelID)
        /// The channel is over; with ``ChannelEnd/closed`` everything was delivered, otherwise
        /// drop what is left and close at once.
        case ended(ChannelID, ChannelEnd)
        /// More of the application's bytes can be taken (``readAllowance(_:)``).
        case creditAvailable(ChannelID)
    }

    /// What ``Listing/state`` says.
    public enum State: String, Hashable, Sendable {
        case waiting, open
        case writeClosed = "write-closed"
        case readClosed = "read-closed"
        case closing
    }

    /// One channel as the API lists it.
    public struct Listing: Hashable, Sendable {
        public var id: ChannelID
        public var key: ChannelKey
        public var state: State
        public var bytesSent: UInt64
        public var bytesReceived: UInt64
    }

    private struct Channel: Sendable {
        let key: ChannelKey
        var remoteID: UInt32?
        /// Bytes the peer lets this side send.
        var credit = 0
        /// Read from the application, not yet sent.
        var outbound = CircularBuffer<ByteBuffer>()
        var outboundBytes = 0
        var applicationFinished = false
        var eofSent = false
        var remoteFinished = false
        /// The peer sent a clean close: end once everything is delivered.
        var remoteClosed = false
        var window: ReceiveWindow
        var bytesSent: UInt64 = 0
        var bytesReceived: UInt64 = 0
    }

    private struct RemoteOpen: Sendable {
        let key: ChannelKey
        let window: Int
    }

    public let limits: ChannelLimits
    private var channels: [ChannelID: Channel] = [:]
    private var byKey: [ChannelKey: ChannelID] = [:]
    private var localOfRemote: [UInt32: ChannelID] = [:]
    /// The peer's opens no local open answered yet.
    private var remoteOpens: [UInt32: RemoteOpen] = [:]
    private var remoteOpenOfKey: [ChannelKey: UInt32] = [:]
    private var nextID: ChannelID = 1
    private var highestRemoteID: UInt32 = 0
    private var control = CircularBuffer<PeerMessage>()
    /// Channels with bytes and credit, in turn.
    private var ready = CircularBuffer<ChannelID>()
    private var isReady: Set<ChannelID> = []
    private var events: [Event] = []
    /// Receive windows lent on this link, in total.
    public private(set) var bytesLent = 0

    public init(limits: ChannelLimits = ChannelLimits()) {
        self.limits = limits
    }

    // MARK: Queries

    /// Channels on this link (both sides' opens, matched or not).
    public var count: Int { channels.count + remoteOpens.count }
    /// This side's channels, open or waiting.
    public var localChannels: [ChannelID] { Array(channels.keys) }
    /// Whether a channel of this side is there.
    public func contains(_ id: ChannelID) -> Bool { channels[id] != nil }
    /// Bytes of this side's channels read from the applications and not yet sent, in total.
    public var queuedBytes: Int { channels.values.reduce(0) { $0 + $1.outboundBytes } }
    /// Received bytes not yet consumed by the applications, in total.
    public var bufferedBytes: Int { channels.values.reduce(0) { $0 + $1.window.buffered } }
    /// The current receive window of a channel.
    public func window(of id: ChannelID) -> Int? { channels[id]?.window.size }

    /// How many more bytes to read from the application now (0: stop reading).
    public func readAllowance(_ id: ChannelID) -> Int {
        guard let channel = channels[id], channel.remoteID != nil, !channel.applicationFinished else { return 0 }
        return max(0, channel.credit - channel.outboundBytes)
    }

    public func listing(_ id: ChannelID) -> Listing? {
        guard let channel = channels[id] else { return nil }
        let state: State =
            if channel.remoteID == nil { .waiting }
            else if channel.applicationFinished && channel.remoteFinished { .closing }
            else if channel.applicationFinished { .writeClosed }
            else if channel.remoteFinished { .readClosed }
            else { .open }
        return Listing(id: id, key: channel.key, state: state, bytesSent: channel.bytesSent, bytesReceived: channel.bytesReceived)
    }

    /// The events since the last call, in order.
    public mutating func takeEvents() -> [Event] {
        defer { events.removeAll(keepingCapacity: true) }
        return events
    }

    // MARK: The local application

    /// The application opened `key`: a new channel, connected at once if the peer's open
    /// for the same key is waiting here.
    public mutating func open(_ key: ChannelKey) throws(ChannelOpenRefusal) -> ChannelID {
        guard byKey[key] == nil else { throw .nameInUse }
        let answering = remoteOpenOfKey[key]
        if answering == nil {
            guard count < limits.channelsPerLink else { throw .tooManyOnLink(limit: limits.channelsPerLink) }
            let unanswered = channels.values.filter { $0.remoteID == nil }.count
            guard unanswered < limits.unansweredOpens else { throw .tooManyUnanswered(limit: limits.unansweredOpens) }
            guard channelCount(of: key.invitation) < limits.channelsPerInvitation else {
                throw .tooManyOnInvitation(limit: limits.channelsPerInvitation)
            }
        }
        let id = nextID
        nextID += 1
        let window = min(limits.initialWindow, max(0, limits.bufferedBytesPerLink - bytesLent))
        bytesLent += window
        channels[id] = Channel(key: key, window: ReceiveWindow(size: window))
        byKey[key] = id
        control.append(.channelOpen(ChannelOpen(
            channelID: id, invitationID: key.invitationWireID, side: key.localIsInviter ? .senderInvited : .receiverInvited,
            name: key.name, window: UInt32(window))))
        if let remote = answering, let open = remoteOpens.removeValue(forKey: remote) {
            remoteOpenOfKey[key] = nil
            connect(id, remoteID: remote, window: open.window)
        }
        return id
    }

    /// Bytes read from the application, to send as credit allows.
    public mutating func applicationWrote(_ id: ChannelID, _ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0, var channel = channels[id], !channel.applicationFinished else { return }
        channel.outboundBytes += bytes.readableBytes
        channel.outbound.append(bytes)
        channels[id] = channel
        markReady(id)
    }

    /// The application finished writing (end-of-file on its socket).
    public mutating func applicationFinished(_ id: ChannelID) {
        guard var channel = channels[id], !channel.applicationFinished else { return }
        channel.applicationFinished = true
        channels[id] = channel
        sendEOFIfDrained(id)
    }

    /// The application took `count` delivered bytes: lend them again when it is time.
    public mutating func consumed(_ id: ChannelID, count: Int, now: ContinuousClock.Instant) {
        guard var channel = channels[id] else { return }
        let before = channel.window.size
        // Growth keeps room for an initial window of every channel the link may still open.
        let reserve = max(0, limits.channelsPerLink - self.count) * limits.initialWindow
        let lent = bytesLent
        let budget = limits.bufferedBytesPerLink
        let grant = channel.window.consumed(count, now: now, chunk: limits.chunk, maximum: limits.maximumWindow) { extra in
            lent + extra + reserve <= budget
        }
        bytesLent += channel.window.size - before
        if let grant, channel.remoteID != nil, !channel.remoteFinished {
            control.append(.channelWindow(channelID: id, increment: UInt32(grant)))
        }
        channels[id] = channel
        finishIfDone(id)
    }

    /// This side ends the channel (its application's socket failed, the invitation is gone):
    /// the peer is told, nothing more is delivered.
    public mutating func end(_ id: ChannelID, _ end: ChannelEnd) {
        guard channels[id] != nil else { return }
        control.append(.channelClose(ChannelClose(channelID: id, reason: end.wireReason)))
        remove(id, end)
    }

    /// Ends every channel whose key matches, and refuses the peer's waiting opens of it.
    public mutating func endAll(where matches: (ChannelKey) -> Bool, _ reason: ChannelEnd) {
        for (id, channel) in channels where matches(channel.key) { end(id, reason) }
        for (remote, open) in remoteOpens where matches(open.key) {
            remoteOpens[remote] = nil
            remoteOpenOfKey[open.key] = nil
        }
    }

    /// The link closed: every channel ended.
    public mutating func linkClosed(_ reason: ChannelEnd) {
        for id in channels.keys.sorted() { remove(id, reason) }
        remoteOpens.removeAll()
        remoteOpenOfKey.removeAll()
        control.removeAll()
    }

    // MARK: The peer

    /// A channel message from the peer; a breach of the protocol throws (close the link).
    public mutating func received(_ message: PeerMessage, now: ContinuousClock.Instant) throws(PeerProtocolError) {
        switch message {
        case .channelOpen(let open): try remoteOpened(open)
        case .channelData(let data):
            guard let id = try local(data.channelID, "channel data") else { return }
            guard var channel = channels[id] else { return }
            let count = data.bytes.readableBytes
            guard channel.remoteID != nil, !channel.remoteFinished, channel.window.received(count, now: now) else {
                throw .limitExceeded("channel data past the receive window of \(channel.key)", actual: count, limit: channel.window.outstanding)
            }
            channel.bytesReceived += UInt64(count)
            channels[id] = channel
            events.append(.deliver(id, data.bytes))
        case .channelWindow(let remoteID, let increment):
            guard let id = try local(remoteID, "channel window update"), var channel = channels[id] else { return }
            let credit = channel.credit + Int(increment)
            guard credit <= limits.maximumWindow else {
                throw .limitExceeded("channel window of \(channel.key)", actual: credit, limit: limits.maximumWindow)
            }
            let wasZero = readAllowance(id) == 0
            channel.credit = credit
            channels[id] = channel
            markReady(id)
            if wasZero, readAllowance(id) > 0 { events.append(.creditAvailable(id)) }
        case .channelEOF(let remoteID):
            guard let id = try local(remoteID, "channel end-of-stream"), var channel = channels[id] else { return }
            guard !channel.remoteFinished else { throw .malformed("channel end-of-stream", "a second one for \(channel.key)") }
            channel.remoteFinished = true
            channels[id] = channel
            events.append(.endOfStream(id))
            finishIfDone(id)
        case .channelClose(let close):
            if let open = remoteOpens.removeValue(forKey: close.channelID) {
                remoteOpenOfKey[open.key] = nil
                return
            }
            guard let id = try local(close.channelID, "channel close"), var channel = channels[id] else { return }
            localOfRemote[close.channelID] = nil
            channel.remoteID = nil
            if close.reason == .closed, channel.remoteFinished, channel.eofSent {
                channel.remoteClosed = true
                channels[id] = channel
                finishIfDone(id)
            } else {
                channels[id] = channel
                remove(id, ChannelEnd(close.reason == .closed ? .reset : close.reason))
            }
        default:
            break
        }
    }

    private mutating func remoteOpened(_ open: ChannelOpen) throws(PeerProtocolError) {
        guard open.channelID > highestRemoteID else {
            throw .malformed("channel open", "channel id \(open.channelID) is not above the last one, \(highestRemoteID)")
        }
        highestRemoteID = open.channelID
        let key = ChannelKey(invitationWireID: open.invitationID, localIsInviter: open.side == .receiverInvited, name: open.name)
        guard remoteOpenOfKey[key] == nil else { throw .malformed("channel open", "\(key) is already waiting") }
        if let id = byKey[key] {
            guard channels[id]?.remoteID == nil else { throw .malformed("channel open", "\(key) is already open") }
            try checkPeerLends(Int(open.window))
            connect(id, remoteID: open.channelID, window: Int(open.window))
            return
        }
        guard remoteOpens.count < limits.unansweredOpens else {
            throw .limitExceeded("unanswered channel opens", actual: remoteOpens.count + 1, limit: limits.unansweredOpens)
        }
        guard count < limits.channelsPerLink else {
            throw .limitExceeded("channels on the link", actual: count + 1, limit: limits.channelsPerLink)
        }
        let ofInvitation = channelCount(of: key.invitation)
        guard ofInvitation < limits.channelsPerInvitation else {
            throw .limitExceeded("channels of invitation \(key.invitationWireID)", actual: ofInvitation + 1, limit: limits.channelsPerInvitation)
        }
        try checkPeerLends(Int(open.window))
        remoteOpens[open.channelID] = RemoteOpen(key: key, window: Int(open.window))
        remoteOpenOfKey[key] = open.channelID
    }

    /// The peer never lends more than the per-link buffer in total.
    private func checkPeerLends(_ window: Int) throws(PeerProtocolError) {
        let lent = channels.values.reduce(0) { $0 + $1.credit } + remoteOpens.values.reduce(0) { $0 + $1.window } + window
        guard lent <= limits.bufferedBytesPerLink else {
            throw .limitExceeded("channel windows lent on the link", actual: lent, limit: limits.bufferedBytesPerLink)
        }
    }

    /// This side's channel for the peer's id: nil for one that ended already (in flight),
    /// an error for one never opened.
    private func local(_ remoteID: UInt32, _ what: String) throws(PeerProtocolError) -> ChannelID? {
        if let id = localOfRemote[remoteID] { return id }
        if remoteOpens[remoteID] != nil {
            throw .unexpectedMessage("\(what) on channel \(remoteID) before it was answered", state: "established")
        }
        guard remoteID <= highestRemoteID else {
            throw .unexpectedMessage("\(what) on channel \(remoteID), which was never opened", state: "established")
        }
        return nil
    }

    // MARK: The link

    /// The next message to send: control first (opens, window updates, end-of-stream,
    /// closes), then a chunk of data from the next channel in turn; nil when nothing waits.
    public mutating func nextFrame() -> PeerMessage? {
        if let message = control.popFirst() { return message }
        while let id = ready.popFirst() {
            isReady.remove(id)
            guard var channel = channels[id], channel.remoteID != nil, channel.credit > 0, channel.outboundBytes > 0 else { continue }
            let size = min(limits.sendChunk, channel.credit, channel.outboundBytes)
            var chunk = ByteBuffer()
            if var first = channel.outbound.first, first.readableBytes >= size {
                // The common case: a slice of what the application wrote, no copy.
                chunk = first.readSlice(length: size)!
                if first.readableBytes == 0 { channel.outbound.removeFirst() } else { channel.outbound[channel.outbound.startIndex] = first }
            }
            while chunk.readableBytes < size, var first = channel.outbound.first {
                let take = min(size - chunk.readableBytes, first.readableBytes)
                if take == first.readableBytes && chunk.readableBytes == 0 && take == size {
                    chunk = first
                    channel.outbound.removeFirst()
                    break
                }
                var slice = first.readSlice(length: take)!
                chunk.writeBuffer(&slice)
                if first.readableBytes == 0 { channel.outbound.removeFirst() } else { channel.outbound[channel.outbound.startIndex] = first }
            }
            let wasAllowed = max(0, channel.credit - channel.outboundBytes)
            channel.credit -= size
            channel.outboundBytes -= size
            channel.bytesSent += UInt64(size)
            channels[id] = channel
            if channel.outboundBytes > 0 && channel.credit > 0 { markReady(id) }
            if wasAllowed == 0, readAllowance(id) > 0 { events.append(.creditAvailable(id)) }
            sendEOFIfDrained(id)
            return .channelData(ChannelData(channelID: id, bytes: chunk))
        }
        return control.popFirst()
    }

    /// Whether ``nextFrame()`` has something.
    public var hasFrames: Bool { !control.isEmpty || !ready.isEmpty }

    // MARK: Internals

    private func channelCount(of invitation: ChannelKey.InvitationKey) -> Int {
        channels.values.filter { $0.key.invitation == invitation }.count
            + remoteOpens.values.filter { $0.key.invitation == invitation }.count
    }

    private mutating func connect(_ id: ChannelID, remoteID: UInt32, window: Int) {
        guard var channel = channels[id] else { return }
        channel.remoteID = remoteID
        channel.credit = window
        channels[id] = channel
        localOfRemote[remoteID] = id
        events.append(.connected(id))
        if window > 0 { events.append(.creditAvailable(id)) }
        markReady(id)
        sendEOFIfDrained(id)
    }

    private mutating func markReady(_ id: ChannelID) {
        guard let channel = channels[id], channel.remoteID != nil, channel.credit > 0, channel.outboundBytes > 0,
            isReady.insert(id).inserted
        else { return }
        ready.append(id)
    }

    private mutating func sendEOFIfDrained(_ id: ChannelID) {
        guard var channel = channels[id], channel.applicationFinished, !channel.eofSent, channel.outboundBytes == 0,
            channel.remoteID != nil
        else { return }
        channel.eofSent = true
        channels[id] = channel
        control.append(.channelEOF(channelID: id))
        finishIfDone(id)
    }

    /// Both finished writing and everything was delivered: a clean close.
    private mutating func finishIfDone(_ id: ChannelID) {
        guard let channel = channels[id], channel.eofSent, channel.remoteFinished, channel.window.buffered == 0 else { return }
        if !channel.remoteClosed { control.append(.channelClose(ChannelClose(channelID: id, reason: .closed))) }
        remove(id, .closed)
    }

    private mutating func remove(_ id: ChannelID, _ end: ChannelEnd) {
        guard let channel = channels.removeValue(forKey: id) else { return }
        byKey[channel.key] = nil
        if let remoteID = channel.remoteID { localOfRemote[remoteID] = nil }
        bytesLent -= channel.window.size
        isReady.remove(id)
        events.append(.ended(id, end))
    }
}
