import Collaboration
import DBus

/// The root object's `Manager` interface: D-Bus in front of the ``Collaboration`` actor.
struct ManagerObject: Sendable {
    let collaboration: Collaboration

    var interface: DBusInterface {
        let collaboration = self.collaboration
        return DBusInterface(
            name: BusNames.manager,
            methods: [
                DBusMethod("SignIn", in: [DBusArgument("scope", .string)]) { call in
                    try await ErrorTable.translating { try await collaboration.signIn(call.arguments[0].stringValue ?? "") }
                    return []
                },
                DBusMethod("SignOut", in: [DBusArgument("scope", .string)]) { call in
                    try await ErrorTable.translating { try await collaboration.signOut(call.arguments[0].stringValue ?? "") }
                    return []
                },
                DBusMethod("GetContactCard", out: [DBusArgument("card", .string)]) { _ in
                    [.string(await collaboration.contactCard())]
                },
                DBusMethod("Connect", in: [DBusArgument("link", .string)], out: [DBusArgument("peer", .objectPath)]) { call in
                    let id = try await ErrorTable.translating {
                        try await collaboration.connect(link: call.arguments[0].stringValue ?? "")
                    }
                    return [.objectPath(BusNames.peerPath(id))]
                },
            ],
            properties: [
                DBusProperty("Version", .string, changeSignal: .constant) {
                    .string(ProductVersion.current)
                },
                DBusProperty("PeerName", .string, changeSignal: .constant) {
                    .string(collaboration.identity.peerName.description)
                },
                DBusProperty("Fingerprint", .string, changeSignal: .constant) {
                    .string(collaboration.identity.fingerprint.description)
                },
                DBusProperty(
                    "DisplayName", .string,
                    get: { .string(await collaboration.displayName) },
                    set: { value, _ in
                        try await ErrorTable.translating {
                            try await collaboration.setDisplayName(value.stringValue ?? "")
                        }
                    }),
                DBusProperty(
                    "Email", .string,
                    get: { .string(await collaboration.email) },
                    set: { value, _ in
                        try await ErrorTable.translating {
                            try await collaboration.setEmail(value.stringValue ?? "")
                        }
                    }),
                DBusProperty("SignedIn", .array(of: .string)) {
                    .strings(await collaboration.signedIn.sorted().map(\.rawValue))
                },
                DBusProperty("Endpoints", .array(of: .structure([.string, .uint16]))) {
                    BusValues.endpoints(await collaboration.endpoints)
                },
            ]
        )
    }
}
