import Collaboration
import DBus

/// `/org/peercollab/PeerCollab1/application/ID`: an application registered with me.
struct ApplicationObject: Sendable {
    let id: String
    let collaboration: Collaboration

    var interface: DBusInterface {
        let id = self.id
        let collaboration = self.collaboration
        @Sendable func application() async throws -> ApplicationRecord {
            guard let application = await collaboration.application(id) else {
                throw DBusError.unknownObject("The application \(id) was unregistered.")
            }
            return application
        }
        return DBusInterface(
            name: BusNames.application,
            methods: [
                DBusMethod("Unregister") { _ in
                    try await ErrorTable.translating { try await collaboration.unregisterApplication(id: id) }
                    return []
                },
            ],
            properties: [
                DBusProperty("Id", .string, changeSignal: .constant) { .string(id) },
                DBusProperty("Name", .string) { .string(try await application().name) },
                DBusProperty("Description", .string) { .string(try await application().description) },
                DBusProperty("Exec", .array(of: .string)) { .strings(try await application().exec) },
                DBusProperty("DesktopId", .string) { .string(try await application().desktopID) },
                DBusProperty("Data", .array(of: .byte)) { .bytes(try await application().data) },
                DBusProperty("Scope", .string) { .string(try await application().scope) },
            ]
        )
    }

    /// Every property, for PropertiesChanged after a registration was replaced.
    static let propertyNames = ["Name", "Description", "Exec", "DesktopId", "Data", "Scope"]
}
