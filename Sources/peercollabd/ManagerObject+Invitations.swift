import Collaboration
import DBus

extension ManagerObject {
    /// Invite, RegisterApplication, UnregisterApplication.
    var applicationMethods: [DBusMethod] {
        let collaboration = self.collaboration
        let exportInvitation = self.exportInvitation
        return [
            DBusMethod(
                "Invite",
                in: [
                    DBusArgument("target", .objectPath), DBusArgument("application_id", .string), DBusArgument("message", .string),
                    DBusArgument("data", .array(of: .byte)), DBusArgument("timeout_s", .uint32),
                ],
                out: [DBusArgument("invitation", .objectPath)]
            ) { call in
                let arguments = call.arguments
                guard let target = arguments[0].objectPathValue, let peerID = BusNames.peerID(fromTarget: target) else {
                    throw ErrorTable.busError(
                        .invalidArgument("The target must be a peer (\(BusNames.root)/peer/ID) or a contact (\(BusNames.root)/contact/ID)."))
                }
                let id = try await ErrorTable.translating {
                    try await collaboration.invite(
                        peerID: peerID, applicationID: arguments[1].stringValue ?? "", message: arguments[2].stringValue ?? "",
                        data: arguments[3].bytesValue ?? [], timeoutSeconds: arguments[4].uint32Value ?? 0)
                }
                // The caller may use the path as soon as it has it: the object is there first.
                await exportInvitation?(id)
                return [.objectPath(BusNames.invitationPath(id))]
            },
            DBusMethod(
                "RegisterApplication",
                in: [DBusArgument("application_id", .string), DBusArgument("info", .dictionary(.string, .variant))],
                out: [DBusArgument("application", .objectPath)]
            ) { call in
                let id = call.arguments[0].stringValue ?? ""
                let registration = try await ErrorTable.translating { try Self.registration(from: call.arguments[1]) }
                try await ErrorTable.translating { try await collaboration.registerApplication(id: id, registration) }
                return [.objectPath(BusNames.applicationPath(id))]
            },
            DBusMethod("UnregisterApplication", in: [DBusArgument("application_id", .string)]) { call in
                try await ErrorTable.translating { try await collaboration.unregisterApplication(id: call.arguments[0].stringValue ?? "") }
                return []
            },
        ]
    }

    /// InvitationPolicy.
    var invitationProperties: [DBusProperty] {
        let collaboration = self.collaboration
        return [
            DBusProperty(
                "InvitationPolicy", .string,
                get: { .string(await collaboration.invitationPolicy.rawValue) },
                set: { value, _ in
                    try await ErrorTable.translating { try await collaboration.setInvitationPolicy(value.stringValue ?? "") }
                })
        ]
    }

    /// InvitationReceived.
    var invitationSignals: [DBusSignal] {
        [
            DBusSignal(
                "InvitationReceived",
                [
                    DBusArgument("invitation", .objectPath), DBusArgument("from", .objectPath), DBusArgument("application_id", .string),
                    DBusArgument("message", .string),
                ])
        ]
    }

    /// RegisterApplication's `info`: known keys with their types; anything else is refused,
    /// so that a misspelt key is not silently ignored.
    static func registration(from info: DBusValue) throws(CollaborationError) -> ApplicationRegistration {
        let entries = info.vardictValue ?? [:]
        func string(_ key: String) throws(CollaborationError) -> String? {
            guard let value = entries[key] else { return nil }
            guard let text = value.stringValue else { throw .invalidArgument("info['\(key)'] must be a string (s).") }
            return text
        }
        let known: Set<String> = ["name", "description", "exec", "desktop-id", "data", "scope"]
        if let unknown = entries.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidArgument(
                "info has an unknown key '\(unknown.prefix(64))'; the keys are name, description, exec, desktop-id, data and scope.")
        }
        guard let name = try string("name") else { throw .invalidArgument("info must have a 'name' (s).") }
        var registration = ApplicationRegistration(name: name)
        registration.description = try string("description") ?? ""
        registration.desktopID = try string("desktop-id") ?? ""
        registration.scope = try string("scope") ?? "all"
        if let exec = entries["exec"] {
            guard exec.signature == .array(of: .string), let argv = exec.stringArrayValue else {
                throw .invalidArgument("info['exec'] must be an array of strings (as).")
            }
            registration.exec = argv
        }
        if let data = entries["data"] {
            guard data.signature == .array(of: .byte), let bytes = data.bytesValue else {
                throw .invalidArgument("info['data'] must be bytes (ay).")
            }
            registration.data = bytes
        }
        return registration
    }
}
