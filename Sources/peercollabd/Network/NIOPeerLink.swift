import Collaboration
import NIOCore
import PeerProtocol

/// A ``PeerLink`` over a NIO channel. Channels are thread-safe for writes and close, so
/// the domain may call from any task.
struct NIOPeerLink: PeerLink {
    let id: Int
    let isOutgoing: Bool
    let remoteEndpoint: ContactEndpoint?
    let isOnLocalNetwork: Bool
    let capabilities: Set<PeerCapability>
    let channel: any Channel

    func send(_ message: PeerMessage) {
        channel.writeAndFlush(message, promise: nil)
    }

    func close(_ goodbye: PeerGoodbye) {
        // The session handler sends the goodbye and closes after it.
        channel.writeAndFlush(PeerMessage.goodbye(goodbye), promise: nil)
    }

    func probe(within: Duration) {
        let (seconds, attoseconds) = within.components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        channel.triggerUserOutboundEvent(PeerSessionCommand.probe(within: .nanoseconds(nanoseconds)), promise: nil)
    }
}

extension ContactEndpoint {
    /// The peer's address as the socket saw it; IPv4 clients of a dual-stack listener
    /// appear as `::ffff:a.b.c.d` and are shown as plain IPv4.
    init?(_ address: SocketAddress?) {
        guard let address, var host = address.ipAddress, let port = address.port, port > 0, port <= 65535 else {
            return nil
        }
        if host.hasPrefix("::ffff:"), host.contains(".") { host = String(host.dropFirst(7)) }
        self.init(host: host, port: UInt16(port))
    }
}
