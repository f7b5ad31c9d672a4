import Collaboration
import DBus

extension BusService {
    /// Exports an Application object for every stored registration (before the name is taken).
    func exportApplications(on connection: DBusConnection) async throws {
        for id in await collaboration.applicationIDs {
            try await connection.objects.export(
                [ApplicationObject(id: id, collaboration: collaboration).interface], at: BusNames.applicationPath(id))
        }
    }

    /// Application and invitation events as objects, PropertiesChanged and InvitationReceived.
    func publishInvitationEvent(_ event: CollaborationEvent, on connection: DBusConnection) async throws {
        switch event {
        case .applicationAdded(let id):
            try await connection.objects.export(
                [ApplicationObject(id: id, collaboration: collaboration).interface], at: BusNames.applicationPath(id))
        case .applicationChanged(let id):
            try await connection.objects.emitPropertiesChanged(
                path: BusNames.applicationPath(id), interface: BusNames.application, properties: ApplicationObject.propertyNames)
        case .applicationRemoved(let id):
            try connection.objects.unexport(BusNames.applicationPath(id))
        case .invitationAdded(let id):
            await InvitationObject.export(id, collaboration: collaboration, on: connection.objects)
        case .invitationChanged(let id, let properties):
            try await connection.objects.emitPropertiesChanged(
                path: BusNames.invitationPath(id), interface: BusNames.invitation, properties: properties.map(\.rawValue).sorted())
        case .invitationRemoved(let id):
            try connection.objects.unexport(BusNames.invitationPath(id))
        case .invitationReceived(let id):
            guard let invitation = await collaboration.invitation(id) else { return }
            let from = BusNames.invitationPeerPath(invitation.peerID, isContact: await collaboration.isContact(invitation.peerID))
            try connection.objects.emit(
                path: BusNames.root, interface: BusNames.manager, signal: "InvitationReceived",
                arguments: [
                    .objectPath(BusNames.invitationPath(id)), .objectPath(from), .string(invitation.applicationID),
                    .string(invitation.message),
                ])
        default:
            break
        }
        await invitationServices.handle(event, collaboration: collaboration)
    }

    /// Ends the waits (Wait, Accept, Decline) of callers that left the bus, so none lingers
    /// until its invitation ends.
    func endWaitsOfVanishedCallers(on connection: DBusConnection) async {
        guard let changes = try? await connection.subscribe(
            to: DBusMatchRule(sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged"))
        else { return }
        for await message in changes {
            let arguments = message.arguments()
            guard arguments.count == 3, let name = arguments[0].stringValue, name.hasPrefix(":"),
                arguments[2].stringValue == ""
            else { continue }
            await collaboration.callerVanished(name)
        }
    }
}
