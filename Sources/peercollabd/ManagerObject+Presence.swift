import Collaboration
import DBus

extension ManagerObject {
    /// SetPresence, SetObject, DeleteObject.
    var presenceMethods: [DBusMethod] {
        let collaboration = self.collaboration
        return [
            DBusMethod("SetPresence", in: [DBusArgument("status", .string), DBusArgument("message", .string)]) { call in
                try await ErrorTable.translating {
                    try await collaboration.setPresence(
                        status: call.arguments[0].stringValue ?? "", message: call.arguments[1].stringValue ?? "")
                }
                return []
            },
            DBusMethod("SetObject", in: [DBusArgument("object_id", .string), DBusArgument("data", .array(of: .byte))]) { call in
                try await ErrorTable.translating {
                    try await collaboration.setObject(id: call.arguments[0].stringValue ?? "", data: call.arguments[1].bytesValue ?? [])
                }
                return []
            },
            DBusMethod("DeleteObject", in: [DBusArgument("object_id", .string)]) { call in
                try await ErrorTable.translating { try await collaboration.deleteObject(id: call.arguments[0].stringValue ?? "") }
                return []
            },
        ]
    }

    /// PresenceStatus, PresenceMessage, and Objects (the ids I publish; an addition to
    /// DBUS-API.md so `peercollabctl object list` can show mine).
    var presenceProperties: [DBusProperty] {
        let collaboration = self.collaboration
        return [
            DBusProperty("PresenceStatus", .string) { .string(await collaboration.currentPresence.status.name) },
            DBusProperty("PresenceMessage", .string) { .string(await collaboration.currentPresence.message) },
            DBusProperty("Objects", .array(of: .string)) { .strings(await collaboration.publishedObjectIDs) },
        ]
    }
}
