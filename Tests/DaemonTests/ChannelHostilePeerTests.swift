import DBus
import Foundation
import NIOCore
import PeerCollabAPI
import PeerProtocol
import Testing
import TestSupport

/// Peers written with the project's own channel code that break the channel rules: each is
/// disconnected with a log line, and the daemon's other links go on.
@Suite(.serialized)
struct ChannelHostilePeerTests {
    static let app = "org.example.Chat"

    /// Connects a peer and waits until the daemon shows it (its profile arrived).
    func connect(_ daemon: LocalDaemon, name: String) async throws -> TestPeer {
        let peer = try await TestPeer(
            dialing: "127.0.0.1", port: try await daemon.port, expecting: try await daemon.peerName,
            capabilities: [.presence, .invitations, .channels])
        peer.send(.profile(PeerProfile(displayName: name, presence: PeerPresence(status: .online))))
        let path = try DBusObjectPath(PeerCollabBus.peerPath("\(peer.identity.peerName)"))
        try await eventually("the daemon shows \(name)") { (try? await daemon.peerProperty(path, "PresenceStatus")) != nil ? true : nil }
        return peer
    }

    func isShown(_ peer: TestPeer, on daemon: LocalDaemon) async throws -> Bool {
        let path = try DBusObjectPath(PeerCollabBus.peerPath("\(peer.identity.peerName)"))
        return (try? await daemon.peerProperty(path, "PresenceStatus")) != nil
    }

    func waitUntilGone(_ peer: TestPeer, from daemon: LocalDaemon) async throws {
        try await eventually("the daemon drops the hostile peer") { try await self.isShown(peer, on: daemon) ? nil : true }
    }

    /// The test peer invites the daemon's user into `app`, the user accepts, the peer
    /// confirms: the daemon's incoming invitation, accepted.
    func acceptedInvitation(from peer: TestPeer, on daemon: LocalDaemon, id: String) async throws -> DBusObjectPath {
        peer.send(.invitation(InvitationOffer(
            invitationID: id, applicationID: Self.app, message: "chat?", data: ByteBuffer(), timeoutSeconds: 60)))
        let incoming = try await eventually("the invitation arrives") { () async throws -> DBusObjectPath? in
            let reply = try await daemon.client.call(
                destination: DaemonProcess.service, path: DaemonProcess.root,
                interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
            guard case .dictionary(_, _, let entries)? = reply.first else { return nil }
            return entries.compactMap { $0.key.objectPathValue }.first { $0.rawValue.contains("/invitation/") }
        }
        let accepting = Task {
            try await daemon.client.call(
                destination: DaemonProcess.service, path: incoming, interface: PeerCollabBus.Interface.invitation, member: "Accept")
        }
        try await eventually("the daemon answers") {
            peer.messages.contains { if case .invitationResponse = $0 { true } else { false } } ? true : nil
        }
        peer.send(.invitationResponse(InvitationResponse(invitationID: id, outcome: .accepted, reason: "")))
        _ = try await accepting.value
        return incoming
    }

    /// A peer whose hello lacks `channels`: OpenChannel says NotSupported, the link stays.
    @Test func openingToAPeerWithoutChannelsIsNotSupported() async throws {
        let daemon = try await LocalDaemon(signIn: "internet")
        try await daemon.managerCall("RegisterApplication", [.string(Self.app), .vardict(["name": .string("Chat")])])
        let old = try await TestPeer(
            dialing: "127.0.0.1", port: try await daemon.port, expecting: try await daemon.peerName, capabilities: [.presence, .invitations])
        defer { Task { await old.close() } }
        old.send(.profile(PeerProfile(displayName: "Old", presence: PeerPresence(status: .online))))
        let incoming = try await acceptedInvitation(from: old, on: daemon, id: "old1")
        do {
            _ = try await daemon.client.call(
                destination: DaemonProcess.service, path: incoming, interface: PeerCollabBus.Interface.invitation, member: "OpenChannel",
                arguments: [.string("chat")])
            Issue.record("OpenChannel to a peer without channels succeeded")
        } catch let error as DBusError {
            #expect(error.name == PeerCollabErrorName.notSupported.busName, "\(error)")
            #expect(error.message.contains("update"), "\(error.message)")
        }
        #expect(try await isShown(old, on: daemon))
        #expect(!old.messages.contains { $0.isChannelMessage })
    }

    @Test func aPeerOpeningChannelsPastTheLimitIsDisconnectedAndOthersStay() async throws {
        let daemon = try await LocalDaemon(signIn: "internet")
        let bystander = try await connect(daemon, name: "Bystander")
        let hostile = try await connect(daemon, name: "Opener")
        defer { Task { await hostile.close(); await bystander.close() } }
        // 17 opens nobody answers: one more than the daemon waits for.
        hostile.send((1...17).map {
            .channelOpen(ChannelOpen(channelID: UInt32($0), invitationID: "inv\($0)", side: .senderInvited, name: "n", window: 1024))
        })
        try await waitUntilGone(hostile, from: daemon)
        try await eventually("the drop is logged") { daemon.log.contains("broke the channel protocol") ? true : nil }
        #expect(daemon.log.contains("unanswered channel opens is 17, above the limit of 16"), "\(daemon.log.suffix(3000))")
        #expect(try await isShown(bystander, on: daemon), "the other link was dropped too")
        #expect(hostile.messages.contains { if case .goodbye(let goodbye) = $0 { goodbye.reason == .protocolError } else { false } })
    }

    /// A peer that opens a channel of an accepted invitation for real and then sends past
    /// the window the daemon lent it: dropped; the application's stream ends; others stay.
    @Test func aPeerOverrunningTheWindowIsDisconnectedAndTheApplicationStreamEnds() async throws {
        let daemon = try await LocalDaemon(signIn: "internet")
        try await daemon.managerCall("RegisterApplication", [.string(Self.app), .vardict(["name": .string("Chat")])])
        let bystander = try await connect(daemon, name: "Bystander")
        let hostile = try await connect(daemon, name: "Overrunner")
        defer { Task { await hostile.close(); await bystander.close() } }

        let incoming = try await acceptedInvitation(from: hostile, on: daemon, id: "hostile1")
        let reply = try await daemon.client.call(
            destination: DaemonProcess.service, path: incoming, interface: PeerCollabBus.Interface.invitation, member: "OpenChannel",
            arguments: [.string("chat")])
        let application = try AppChannel(reply.first)
        let lent = try await eventually("the daemon opens its end") { () -> UInt32? in
            for case .channelOpen(let open) in hostile.messages where open.name == "chat" { return open.window }
            return nil
        }
        #expect(lent == UInt32(PeerProtocolLimits.channelInitialWindowBytes))
        hostile.send(.channelOpen(ChannelOpen(channelID: 1, invitationID: "hostile1", side: .senderInvited, name: "chat", window: 65536)))
        // The window, plus what the application's socket buffer can take (credit the daemon
        // lends again as it writes there), several times over: the application reads nothing.
        let chunk = ByteBuffer(repeating: 0x55, count: 16 * 1024)
        hostile.send((0..<(4 * 1024 * 1024 / chunk.readableBytes)).map { _ in .channelData(ChannelData(channelID: 1, bytes: chunk)) })
        try await waitUntilGone(hostile, from: daemon)
        #expect(daemon.log.contains("channel data past the receive window"), "\(daemon.log.suffix(3000))")
        // The application's stream ends (nothing was read: its end is closed with data
        // unread, or simply at end-of-file after what arrived).
        var ended = false
        do {
            _ = try await application.readToEnd(timeout: .seconds(20))
            ended = true
        } catch let failure as POSIXFailure {
            ended = failure.errno == ECONNRESET
        }
        #expect(ended)
        #expect(try await isShown(bystander, on: daemon))
    }
}
