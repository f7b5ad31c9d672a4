import Collaboration
import DBus

/// The root object's `Manager` interface: D-Bus in front of the ``Collaboration`` actor.
struct ManagerObject: Sendable {
    let collaboration: Collaboration

    var interface: DBusInterface {
        let collaboration = self.collaboration
        return DBusInterface(
            name: BusNames.manager,
            properties: [
                DBusProperty("Version", .string, changeSignal: .constant) {
                    .string(ProductVersion.current)
                },
                DBusProperty(
                    "DisplayName", .string,
                    get: { .string(await collaboration.displayName) },
                    set: { value, _ in
                        try await ErrorTable.translating {
                            try await collaboration.setDisplayName(value.stringValue ?? "")
                        }
                    }),
            ]
        )
    }
}
