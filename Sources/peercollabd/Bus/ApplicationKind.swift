import Collaboration
import DBus
import PeerCollabAPI

/// `/org/peercollab/PeerCollab1/application/ID`: an application registered with me.
enum ApplicationKind: ObjectKind {
    static let interfaceName = PeerCollabBus.Interface.application

    static func read(_ id: String, _ context: BusContext) async throws -> ApplicationRecord {
        guard let application = await context.collaboration.application(id) else {
            throw DBusError.unknownObject("The application \(id) was unregistered.")
        }
        return application
    }

    /// A registration was replaced: everything but the id may differ.
    static let replaced = Set(ApplicationProperty.allCases.filter { $0.change == .emitsValue })

    static let properties: [PropertyRow<ApplicationRecord, ApplicationProperty>] = [
        PropertyRow(.id, .string) { .string($0.id) },
        PropertyRow(.name, .string) { .string($0.name) },
        PropertyRow(.description, .string) { .string($0.description) },
        PropertyRow(.exec, .array(of: .string)) { .strings($0.exec) },
        PropertyRow(.desktopID, .string) { .string($0.desktopID) },
        PropertyRow(.data, .array(of: .byte)) { .bytes($0.data) },
        PropertyRow(.scope, .string) { .string($0.scope) },
    ]

    static let methods: [MethodRow] = [
        MethodRow("Unregister") { _, id, context in
            try await ErrorTable.translating { try await context.collaboration.unregisterApplication(id: id) }
            return []
        }
    ]
}
