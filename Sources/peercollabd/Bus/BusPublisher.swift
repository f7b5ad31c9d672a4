import Collaboration
import DBus
import Logging
import PeerCollabAPI

/// Turns the domain's events into the API's objects and signals, synchronously, on the
/// domain's actor (``Collaboration/observe(_:)``): a change is on the bus before the call
/// that made it replies, with every value from the view the event carries. It translates;
/// the domain decided.
struct BusPublisher: Sendable {
    let objects: DBusObjectServer
    let context: BusContext
    let logger: Logger

    func publish(_ event: CollaborationEvent) {
        do {
            switch event {
            case .managerChanged(let view, let fields):
                try objects.emitPropertiesChanged(
                    path: BusPaths.root, interface: ManagerKind.interfaceName,
                    values: ManagerKind.changes(in: view, Set(fields.map(ManagerKind.property))))
            case .peerAdded(let view):
                try export(PeerKind.self, view.id, view, at: BusPaths.peer(view.id))
            case .peerChanged(let view, let fields):
                try changed(PeerKind.self, view, Set(fields.map(PeerKind.property)), at: BusPaths.peer(view.id))
            case .peerRemoved(let id):
                try unexport(BusPaths.peer(id))
            case .contactAdded(let view):
                try export(ContactKind.self, view.id, view, at: BusPaths.contact(view.id))
            case .contactChanged(let view, let fields):
                try changed(ContactKind.self, view, Set(fields.map(ContactKind.property)), at: BusPaths.contact(view.id))
            case .contactRemoved(let id):
                try unexport(BusPaths.contact(id))
            case .applicationAdded(let record):
                try export(ApplicationKind.self, record.id, record, at: BusPaths.application(record.id))
            case .applicationChanged(let record):
                try changed(ApplicationKind.self, record, ApplicationKind.replaced, at: BusPaths.application(record.id))
            case .applicationRemoved(let id):
                try unexport(BusPaths.application(id))
            case .invitationAdded(let view):
                try export(InvitationKind.self, view.id, InvitationObject(view, channels: context.channels.listing(of: view.id)), at: BusPaths.invitation(view.id))
            case .invitationChanged(let view, let fields):
                try changed(
                    InvitationKind.self, InvitationObject(view, channels: context.channels.listing(of: view.id)),
                    Set(fields.map(InvitationKind.property)), at: BusPaths.invitation(view.id))
            case .invitationRemoved(let id):
                context.channels.invitationRemoved(id)
                try unexport(BusPaths.invitation(id))
            case .invitationReceived(let view):
                let invitation = view.invitation
                try objects.emit(
                    path: BusPaths.root, interface: ManagerKind.interfaceName, signal: "InvitationReceived",
                    arguments: [
                        .objectPath(BusPaths.invitation(view.id)),
                        .objectPath(BusPaths.person(invitation.peerID, isContact: view.peerIsContact)),
                        .string(invitation.applicationID), .string(invitation.message),
                    ])
            case .nearMeChanged, .invitationNotificationsChanged:
                break  // Discovery and the notifier act on these; nothing shows on the bus.
            }
        } catch {
            logger.warning("Failed to emit a signal: \(error), ignoring")
        }
    }

    /// Exports an object with the values of its view; `unexport` is its mirror.
    private func export<Kind: ObjectKind>(_ kind: Kind.Type, _ id: String, _ view: Kind.View, at path: DBusObjectPath) throws {
        try objects.export([BusObject<Kind>(id: id, context: context).interface], at: path, values: [Kind.values(of: view)])
    }

    private func unexport(_ path: DBusObjectPath) throws {
        try objects.unexport(path)
    }

    private func changed<Kind: ObjectKind>(_ kind: Kind.Type, _ view: Kind.View, _ properties: Set<Kind.Property>, at path: DBusObjectPath) throws {
        try objects.emitPropertiesChanged(path: path, interface: Kind.interfaceName, values: Kind.changes(in: view, properties))
    }
}
