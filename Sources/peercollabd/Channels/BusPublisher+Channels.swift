import DBus
import PeerCollabAPI

extension BusPublisher {
    /// Puts the links' channel news on the bus: `Channels` of an invitation and its
    /// `ChannelClosed` signal.
    var channelPublisher: ChannelHub.Publisher {
        let objects = self.objects
        let logger = self.logger
        return ChannelHub.Publisher(
            changed: { invitationID, channels in
                do {
                    try objects.emitPropertiesChanged(
                        path: BusPaths.invitation(invitationID), interface: InvitationKind.interfaceName,
                        values: [(InvitationProperty.channels.rawValue, .array(element: ChannelListing.entrySignature, channels.map(\.busValue)))])
                } catch {
                    logger.warning("Failed to emit a signal: \(error), ignoring")
                }
            },
            closed: { invitationID, name, reason in
                do {
                    try objects.emit(
                        path: BusPaths.invitation(invitationID), interface: InvitationKind.interfaceName, signal: "ChannelClosed",
                        arguments: [.string(name), .string(reason)])
                } catch {
                    logger.debug("No ChannelClosed for a withdrawn invitation: \(error)")
                }
            })
    }
}
