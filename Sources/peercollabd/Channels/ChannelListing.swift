import Collaboration
import DBus

/// One entry of an invitation's `Channels` property: `(sstt)` name, state, bytes sent,
/// bytes received.
struct ChannelListing: Sendable, Hashable {
    var name: String
    var state: String
    var bytesSent: UInt64
    var bytesReceived: UInt64

    static let entrySignature: DBusSignature = .structure([.string, .string, .uint64, .uint64])
    static let signature: DBusSignature = .array(of: entrySignature)

    var busValue: DBusValue { .structure([.string(name), .string(state), .uint64(bytesSent), .uint64(bytesReceived)]) }
}

/// What an Invitation object shows: the domain's view and, beside it, its channels (a
/// session concern the domain does not hold).
struct InvitationObject: Sendable {
    let view: InvitationView
    let channels: [ChannelListing]

    init(_ view: InvitationView, channels: [ChannelListing]) {
        self.view = view
        self.channels = channels
    }
}
