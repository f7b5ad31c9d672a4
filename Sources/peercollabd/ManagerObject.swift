import Collaboration
import DBus
import Discovery

/// The root object's `Manager` interface: D-Bus in front of the ``Collaboration`` actor.
struct ManagerObject: Sendable {
    let collaboration: Collaboration
    /// The discovery backend's and the daemon's own checks, for `Diagnose`.
    let diagnose: @Sendable () async -> DiscoveryDiagnosis
    /// Exports a new contact's object before the call that made it replies (nil: nothing to export to).
    var exportContact: (@Sendable (String) async -> Void)? = nil
    /// Exports a new outgoing invitation's object before Invite replies (nil: nothing to export to).
    var exportInvitation: (@Sendable (String) async -> Void)? = nil

    var interface: DBusInterface {
        let collaboration = self.collaboration
        let diagnose = self.diagnose
        return DBusInterface(
            name: BusNames.manager,
            methods: contactMethods + presenceMethods + applicationMethods + [
                DBusMethod("SignIn", in: [DBusArgument("scope", .string)]) { call in
                    try await ErrorTable.translating { try await collaboration.signIn(call.arguments[0].stringValue ?? "") }
                    return []
                },
                DBusMethod("SignOut", in: [DBusArgument("scope", .string)]) { call in
                    try await ErrorTable.translating { try await collaboration.signOut(call.arguments[0].stringValue ?? "") }
                    return []
                },
                DBusMethod("Diagnose", out: [DBusArgument("report", .dictionary(.string, .variant))]) { _ in
                    let report = await diagnose()
                    let checks = DBusValue.array(
                        element: .structure([.string, .boolean, .string, .string]),
                        report.checks.map { .structure([.string($0.subject), .boolean($0.ok), .string($0.detail), .string($0.advice)]) })
                    return [.vardict(["backend": .string(report.backend), "checks": checks])]
                },
                DBusMethod("GetContactCard", out: [DBusArgument("card", .string)]) { _ in
                    [.string(try await ErrorTable.translating { try await collaboration.contactCard() })]
                },
                DBusMethod("Connect", in: [DBusArgument("link", .string)], out: [DBusArgument("peer", .objectPath)]) { call in
                    let id = try await ErrorTable.translating {
                        try await collaboration.connect(link: call.arguments[0].stringValue ?? "")
                    }
                    return [.objectPath(BusNames.peerPath(id))]
                },
            ],
            properties: presenceProperties + invitationProperties + [
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
            ],
            signals: invitationSignals
        )
    }
}
