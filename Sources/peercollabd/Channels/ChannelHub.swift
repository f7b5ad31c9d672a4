import Collaboration
import DBus
import NIOCore
import PeerProtocol
import PeerSessions
import Synchronization

/// Where the bus meets the links' channels: `OpenChannel` finds the invitation's link and
/// asks its ``LinkChannels`` (on the link's event loop) for a new channel; the links report
/// each invitation's `Channels` here, and the hub puts them on the bus.
final class ChannelHub: Sendable {
    /// What goes on the bus: an invitation's channel list changed, or one channel ended.
    struct Publisher: Sendable {
        let changed: @Sendable (_ invitationID: String, _ channels: [ChannelListing]) -> Void
        let closed: @Sendable (_ invitationID: String, _ name: String, _ reason: String) -> Void
    }

    private struct Link: Sendable {
        let eventLoop: any EventLoop
        let channels: NIOLoopBound<LinkChannels>
    }

    private struct State: Sendable {
        var links: [Int: Link] = [:]
        var listings: [String: [ChannelListing]] = [:]
        var publisher: Publisher?
    }

    private let collaboration: Collaboration
    private let state = Mutex(State())

    init(collaboration: Collaboration) {
        self.collaboration = collaboration
    }

    func setPublisher(_ publisher: Publisher) {
        state.withLock { $0.publisher = publisher }
    }

    // MARK: The bus

    /// The `Channels` of invitation `id` as last reported.
    func listing(of id: String) -> [ChannelListing] {
        state.withLock { $0.listings[id] ?? [] }
    }

    /// `OpenChannel(name)` on invitation `id`: this side's end of the channel, as the
    /// application's end of a new socket pair.
    func open(invitationID id: String, name: String) async throws -> DBusUnixFD {
        do throws(PeerProtocolError) {
            try ChannelOpen.checkName(name)
        } catch {
            throw CollaborationError(
                .invalidArgument, "The channel name is not valid (\(error.message)); use 1 to 128 bytes of UTF-8 without control characters.")
        }
        guard let target = await collaboration.channelTarget(id) else {
            throw DBusError.unknownObject("The invitation \(id) was withdrawn.")
        }
        guard target.state == .accepted else {
            let what = target.state == .pending ? "is pending; channels open once it is accepted (call Wait to know when)"
                : "ended as \(target.state.rawValue); channels open only on an accepted invitation (invite again)"
            throw CollaborationError(.invalidState, "The invitation \(id) \(what).")
        }
        guard let linkID = target.linkID, let link = state.withLock({ $0.links[linkID] }) else {
            throw CollaborationError(
                .peerUnreachable, "\(target.peerDisplayName) is not connected now; a channel opens once the peer is back (peercollabctl near).")
        }
        let descriptor = try await link.eventLoop.submit { try link.channels.value.open(target: target, name: name) }.get()
        return DBusUnixFD(takingOwnershipOf: descriptor)
    }

    /// The invitation object went away: its channels end, on every link.
    func invitationRemoved(_ id: String) {
        let links = state.withLock { state -> [Link] in
            state.listings[id] = nil
            return Array(state.links.values)
        }
        for link in links {
            link.eventLoop.execute { link.channels.value.invitationRemoved(id) }
        }
    }

    // MARK: The links

    func linkEstablished(_ linkID: Int, _ channels: LinkChannels, on eventLoop: any EventLoop) {
        let link = Link(eventLoop: eventLoop, channels: NIOLoopBound(channels, eventLoop: eventLoop))
        state.withLock { $0.links[linkID] = link }
    }

    func linkClosed(_ linkID: Int) {
        _ = state.withLock { $0.links.removeValue(forKey: linkID) }
    }

    /// A link's channels of invitation `id` are now `channels`: signalled when they differ
    /// from what the bus saw last.
    func report(_ id: String, _ channels: [ChannelListing]) {
        let publisher = state.withLock { state -> Publisher? in
            guard state.listings[id] ?? [] != channels else { return nil }
            state.listings[id] = channels.isEmpty ? nil : channels
            return state.publisher
        }
        publisher?.changed(id, channels)
    }

    /// A channel of invitation `id` ended.
    func closed(_ id: String, name: String, reason: ChannelEnd) {
        state.withLock { $0.publisher }?.closed(id, name, reason.rawValue)
    }

    /// Open links, for the leak checks of tests and `Diagnose`.
    var linkCount: Int { state.withLock { $0.links.count } }
}
