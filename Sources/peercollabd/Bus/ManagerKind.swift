import Collaboration
import DBus
import PeerCollabAPI

/// The root object's `Manager` interface: the local user, and the calls that make peers,
/// contacts, invitations and applications.
enum ManagerKind: ObjectKind {
    static let interfaceName = PeerCollabBus.Interface.manager

    static func read(_ id: String, _ context: BusContext) async throws -> LocalUserView {
        await context.collaboration.localUser
    }

    static func property(_ field: ManagerField) -> ManagerProperty {
        switch field {
        case .displayName: .displayName
        case .email: .email
        case .endpoints: .endpoints
        case .signedIn: .signedIn
        case .presenceStatus: .presenceStatus
        case .presenceMessage: .presenceMessage
        case .invitationPolicy: .invitationPolicy
        case .objects: .objects
        case .signInAutomatically: .signInAutomatically
        }
    }

    static let properties: [PropertyRow<LocalUserView, ManagerProperty>] = [
        PropertyRow(.version, .string, fixed: { _, _ in .string(ProductVersion.current) }) { _ in .string(ProductVersion.current) },
        PropertyRow(.peerName, .string, fixed: { _, context in .string(context.collaboration.identity.peerName.description) }) {
            .string($0.peerName.description)
        },
        PropertyRow(.fingerprint, .string, fixed: { _, context in .string(context.collaboration.identity.fingerprint.description) }) {
            .string($0.fingerprint.description)
        },
        PropertyRow(.displayName, .string, { .string($0.displayName) }) { value, _, _, context in
            try await ErrorTable.translating { try await context.collaboration.setDisplayName(value.stringValue ?? "") }
        },
        PropertyRow(.email, .string, { .string($0.email) }) { value, _, _, context in
            try await ErrorTable.translating { try await context.collaboration.setEmail(value.stringValue ?? "") }
        },
        PropertyRow(.signedIn, .array(of: .string)) { .strings($0.signedIn.map(\.rawValue)) },
        PropertyRow(.presenceStatus, .string) { .string($0.presence.status.name) },
        PropertyRow(.presenceMessage, .string) { .string($0.presence.message) },
        PropertyRow(.invitationPolicy, .string, { .string($0.invitationPolicy.rawValue) }) { value, _, _, context in
            try await ErrorTable.translating { try await context.collaboration.setInvitationPolicy(value.stringValue ?? "") }
        },
        PropertyRow(.endpoints, BusValues.endpointsSignature) { BusValues.endpoints($0.endpoints) },
        PropertyRow(.objects, .array(of: .string)) { .strings($0.objectIDs) },
        PropertyRow(.signInAutomatically, .boolean, { .boolean($0.signInAutomatically) }) { value, _, _, context in
            guard let enabled = value.boolValue else { throw DBusError.invalidArgs("SignInAutomatically is a boolean.") }
            try await ErrorTable.translating { try await context.collaboration.setSignInAutomatically(enabled) }
        },
    ]

    static let signals = [
        DBusSignal(
            "InvitationReceived",
            [
                DBusArgument("invitation", .objectPath), DBusArgument("from", .objectPath), DBusArgument("application_id", .string),
                DBusArgument("message", .string),
            ])
    ]

    static let methods: [MethodRow] = [
        MethodRow("SignIn", in: [DBusArgument("scope", .string)]) { call, _, context in
            try await ErrorTable.translating { try await context.collaboration.signIn(call.string(0)) }
            return []
        },
        MethodRow("SignOut", in: [DBusArgument("scope", .string)]) { call, _, context in
            try await ErrorTable.translating { try await context.collaboration.signOut(call.string(0)) }
            return []
        },
        MethodRow("SetPresence", in: [DBusArgument("status", .string), DBusArgument("message", .string)]) { call, _, context in
            try await ErrorTable.translating { try await context.collaboration.setPresence(status: call.string(0), message: call.string(1)) }
            return []
        },
        MethodRow("GetContactCard", out: [DBusArgument("card", .string)]) { _, _, context in
            [.string(try await ErrorTable.translating { try await context.collaboration.contactCard() })]
        },
        MethodRow("AddContact", in: [DBusArgument("card", .string)], out: [DBusArgument("contact", .objectPath)]) { call, _, context in
            let id = try await ErrorTable.translating { try await context.collaboration.addContact(card: call.string(0)) }
            return [.objectPath(BusPaths.contact(id))]
        },
        MethodRow(
            "Invite",
            in: [
                DBusArgument("target", .objectPath), DBusArgument("application_id", .string), DBusArgument("message", .string),
                DBusArgument("data", .array(of: .byte)), DBusArgument("timeout_s", .uint32),
            ],
            out: [DBusArgument("invitation", .objectPath)]
        ) { call, _, context in
            let arguments = call.arguments
            guard let target = arguments[0].objectPathValue, let peerID = BusPaths.peerID(fromTarget: target) else {
                throw ErrorTable.busError(.invalidArgument(
                    "The target must be a peer (\(PeerCollabBus.ObjectKind.peer.pathPrefix)ID) or a contact (\(PeerCollabBus.ObjectKind.contact.pathPrefix)ID)."))
            }
            let id = try await ErrorTable.translating {
                try await context.collaboration.invite(
                    peerID: peerID, applicationID: call.string(1), message: call.string(2),
                    data: arguments[3].bytesValue ?? [], timeoutSeconds: arguments[4].uint32Value ?? 0)
            }
            return [.objectPath(BusPaths.invitation(id))]
        },
        MethodRow(
            "RegisterApplication",
            in: [DBusArgument("application_id", .string), DBusArgument("info", .dictionary(.string, .variant))],
            out: [DBusArgument("application", .objectPath)]
        ) { call, _, context in
            let id = call.string(0)
            let registration = try await ErrorTable.translating { try ApplicationRegistration(busInfo: call.arguments[1]) }
            try await ErrorTable.translating { try await context.collaboration.registerApplication(id: id, registration) }
            return [.objectPath(BusPaths.application(id))]
        },
        MethodRow("UnregisterApplication", in: [DBusArgument("application_id", .string)]) { call, _, context in
            try await ErrorTable.translating { try await context.collaboration.unregisterApplication(id: call.string(0)) }
            return []
        },
        MethodRow("SetObject", in: [DBusArgument("object_id", .string), DBusArgument("data", .array(of: .byte))]) { call, _, context in
            try await ErrorTable.translating {
                try await context.collaboration.setObject(id: call.string(0), data: call.arguments[1].bytesValue ?? [])
            }
            return []
        },
        MethodRow("DeleteObject", in: [DBusArgument("object_id", .string)]) { call, _, context in
            try await ErrorTable.translating { try await context.collaboration.deleteObject(id: call.string(0)) }
            return []
        },
        MethodRow("Connect", in: [DBusArgument("link", .string)], out: [DBusArgument("peer", .objectPath)]) { call, _, context in
            let id = try await ErrorTable.translating { try await context.collaboration.connect(link: call.string(0)) }
            return [.objectPath(BusPaths.peer(id))]
        },
        MethodRow("Diagnose", out: [DBusArgument("report", .dictionary(.string, .variant))]) { _, _, context in
            let report = await context.diagnose()
            let checks = DBusValue.array(
                element: .structure([.string, .boolean, .string, .string]),
                report.checks.map { .structure([.string($0.subject), .boolean($0.ok), .string($0.detail), .string($0.advice)]) })
            return [.vardict(["backend": .string(report.backend), "checks": checks])]
        },
    ]
}
