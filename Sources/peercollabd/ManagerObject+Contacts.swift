import Collaboration
import DBus

extension ManagerObject {
    /// AddContact.
    var contactMethods: [DBusMethod] {
        let collaboration = self.collaboration
        let exportContact = self.exportContact
        return [
            DBusMethod("AddContact", in: [DBusArgument("card", .string)], out: [DBusArgument("contact", .objectPath)]) { call in
                let id = try await ErrorTable.translating { try await collaboration.addContact(card: call.arguments[0].stringValue ?? "") }
                await exportContact?(id)
                return [.objectPath(BusNames.contactPath(id))]
            },
        ]
    }
}
