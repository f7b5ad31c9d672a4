import PeerProtocol

extension Collaboration {
    /// Checks an application id as peers do: reverse-DNS (`org.example.App`), ≤ 255 bytes.
    nonisolated static func checkApplicationID(_ id: String) throws(CollaborationError) {
        do {
            try InvitationOffer.checkApplicationID(id)
        } catch {
            throw .invalidArgument("'\(id.prefix(300))' is not an application id: \(error.message).")
        }
    }

    /// Registers an application under `id`, or replaces the registration already there: an
    /// application that starts again registers again and must not fail for it. Returns after it
    /// is on disk; peers then see the id in my Applications.
    public func registerApplication(id: String, _ registration: ApplicationRegistration) throws(CollaborationError) {
        try Self.checkApplicationID(id)
        let record = try Self.validated(id: id, registration, registered: Self.microsecondsSinceEpoch())
        let existing = applications[id]
        if existing == nil, applications.count >= ApplicationRegistration.maximumCount {
            throw .invalidArgument(
                "\(applications.count) applications are registered, the most allowed; unregister one first (peercollabctl apps).")
        }
        if let existing, existing.registration == record.registration { return }
        do {
            try database.saveApplication(record)
        } catch {
            throw CollaborationError(error)
        }
        applications[id] = record
        logger.info(existing == nil ? "Application registered" : "Application registration replaced", metadata: ["application": "\(id)"])
        announce(existing == nil ? .applicationAdded(id) : .applicationChanged(id))
        if existing == nil { broadcastProfile() }
    }

    /// Removes a registration; invitations into it are refused from now on.
    public func unregisterApplication(id: String) throws(CollaborationError) {
        guard applications[id] != nil else {
            throw .notFound("No application \(id.prefix(300)) is registered (peercollabctl apps lists them).")
        }
        do {
            try database.deleteApplication(id: id)
        } catch {
            throw CollaborationError(error)
        }
        applications[id] = nil
        logger.info("Application unregistered", metadata: ["application": "\(id)"])
        announce(.applicationRemoved(id))
        broadcastProfile()
    }

    /// One registered application.
    public func application(_ id: String) -> ApplicationRecord? { applications[id] }

    /// The ids of every registered application, sorted (exported as objects at start).
    public var applicationIDs: [String] { applications.keys.sorted() }

    /// The application ids peers in `scope` see in my profile: those registered for that scope
    /// or for all (nil: every one).
    public func registeredApplicationIDs(for scope: Scope? = nil) -> [String] {
        applications.values.filter { application in
            guard let scope else { return true }
            return application.scope == "all" || application.scope == scope.rawValue
        }.map(\.id).sorted()
    }

    static func validated(id: String, _ info: ApplicationRegistration, registered: UInt64) throws(CollaborationError) -> ApplicationRecord {
        let name: String
        do {
            name = try DisplayName.validated(info.name, what: "application name")
        } catch let error as CollaborationError {
            throw error
        } catch {
            throw .invalidArgument("The application name is not acceptable.")
        }
        guard info.description.utf8.count <= ApplicationRegistration.maximumDescriptionBytes else {
            throw .invalidArgument(
                "The application description is \(info.description.utf8.count) bytes; at most \(ApplicationRegistration.maximumDescriptionBytes) are allowed.")
        }
        guard info.exec.isEmpty || info.desktopID.isEmpty else {
            throw .invalidArgument("Give either exec (a command) or desktop-id (a desktop entry), not both.")
        }
        if !info.exec.isEmpty {
            guard let program = info.exec.first, !program.isEmpty else {
                throw .invalidArgument("The exec command line must start with a program.")
            }
            guard info.exec.count <= ApplicationRegistration.maximumArguments,
                info.exec.reduce(0, { $0 + $1.utf8.count }) <= ApplicationRegistration.maximumExecBytes
            else {
                throw .invalidArgument(
                    "The exec command line is too long: at most \(ApplicationRegistration.maximumArguments) arguments and \(ApplicationRegistration.maximumExecBytes) bytes.")
            }
            // Arguments are stored NUL-separated, and no program can receive a NUL anyway.
            guard !info.exec.contains(where: { $0.utf8.contains(0) }) else {
                throw .invalidArgument("The exec command line must not contain NUL characters.")
            }
        }
        if !info.desktopID.isEmpty {
            let valid = info.desktopID.utf8.count <= ApplicationRegistration.maximumDesktopIDBytes
                && info.desktopID.utf8.allSatisfy(\.isIDCharacter) && !info.desktopID.hasPrefix(".")
            guard valid else {
                throw .invalidArgument(
                    "'\(info.desktopID.prefix(300))' is not a desktop entry id: use the file name, like org.example.App.desktop.")
            }
        }
        guard info.data.count <= ApplicationRegistration.maximumDataBytes else {
            throw .invalidArgument(
                "The application data is \(info.data.count) bytes; at most \(ApplicationRegistration.maximumDataBytes) (64 KiB) are allowed.")
        }
        guard ["near-me", "internet", "all"].contains(info.scope) else {
            throw .invalidArgument("'\(info.scope.prefix(100))' is not a scope: use near-me, internet or all.")
        }
        return ApplicationRecord(
            id: id, name: name, description: info.description, exec: info.exec, desktopID: info.desktopID, data: info.data,
            scope: info.scope, registered: registered)
    }
}
