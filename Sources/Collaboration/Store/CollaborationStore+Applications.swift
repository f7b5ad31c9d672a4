/// An application registered with the daemon, as stored: its registration, validated, under
/// its id, with when it was registered.
public struct ApplicationRecord: Sendable, Equatable {
    /// Reverse-DNS, ≤ 255 bytes.
    public var id: String
    /// What was registered, as validated (the name as `DisplayName` left it).
    public var registration: ApplicationRegistration
    /// When it was registered (µs since the epoch).
    public var registered: UInt64

    public init(
        id: String, name: String, description: String, exec: [String], desktopID: String, data: [UInt8], scope: String,
        registered: UInt64
    ) {
        self.id = id
        self.registration = ApplicationRegistration(
            name: name, description: description, exec: exec, desktopID: desktopID, data: data, scope: scope)
        self.registered = registered
    }

    public var name: String { registration.name }
    public var description: String { registration.description }
    /// The command to start on accept (empty when none or when `desktopID` is used).
    public var exec: [String] { registration.exec }
    /// A desktop entry id (`org.example.App.desktop`), or "".
    public var desktopID: String { registration.desktopID }
    public var data: [UInt8] { registration.data }
    /// `near-me`, `internet` or `all`.
    public var scope: String { registration.scope }
}

extension CollaborationStore {
    public func allApplications() throws(StoreError) -> [ApplicationRecord] {
        let rows = try database.statement(
            "SELECT id, name, description, exec, desktop_id, data, scope, registered FROM applications ORDER BY id")
        var applications: [ApplicationRecord] = []
        while try rows.step() {
            applications.append(
                ApplicationRecord(
                    id: rows.text(0), name: rows.text(1), description: rows.text(2), exec: Self.argv(rows.blob(3)),
                    desktopID: rows.text(4), data: rows.blob(5), scope: rows.text(6),
                    registered: UInt64(bitPattern: rows.integer(7))))
        }
        return applications
    }

    /// Inserts or replaces an application, durably.
    public func saveApplication(_ application: ApplicationRecord) throws(StoreError) {
        try database.transaction { () throws(StoreError) in
            try database.statement(
                """
                INSERT OR REPLACE INTO applications (id, name, description, exec, desktop_id, data, scope, registered)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """
            ).bind(
                .text(application.id), .text(application.name), .text(application.description),
                .blob(Self.bytes(application.exec)), .text(application.desktopID), .blob(application.data),
                .text(application.scope), .unsigned(application.registered)
            ).run()
        }
    }

    /// Removes an application; returns whether there was one.
    @discardableResult
    public func deleteApplication(id: String) throws(StoreError) -> Bool {
        try database.transaction { () throws(StoreError) in
            try database.statement("DELETE FROM applications WHERE id = ?").bind(.text(id)).run()
            return database.changes > 0
        }
    }

    /// argv as stored: each argument followed by a NUL, which no argument can contain.
    static func bytes(_ argv: [String]) -> [UInt8] {
        argv.flatMap { Array($0.utf8) + [0] }
    }

    static func argv(_ bytes: [UInt8]) -> [String] {
        bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }
}
