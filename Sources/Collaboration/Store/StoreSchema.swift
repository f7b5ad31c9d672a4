/// The store's schema as a list of migrations: version N is what the first N of them make.
/// Migrations are only ever appended; `PRAGMA user_version` records how many ran.
enum StoreSchema {
    static let migrations: [String] = [
        // 1: contacts with their endpoints, published objects, registered applications.
        """
        CREATE TABLE contacts (
            peer_name TEXT PRIMARY KEY NOT NULL,
            certificate BLOB NOT NULL,
            display_name TEXT NOT NULL,
            nickname TEXT NOT NULL DEFAULT '',
            email TEXT NOT NULL DEFAULT '',
            verified INTEGER NOT NULL,
            subscribe_allowed INTEGER NOT NULL,
            subscribed INTEGER NOT NULL,
            added INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE contact_endpoints (
            peer_name TEXT NOT NULL REFERENCES contacts(peer_name) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            host TEXT NOT NULL,
            port INTEGER NOT NULL,
            PRIMARY KEY (peer_name, position)
        ) WITHOUT ROWID;
        CREATE TABLE objects (
            id TEXT PRIMARY KEY NOT NULL,
            revision INTEGER NOT NULL,
            data BLOB NOT NULL,
            updated INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE applications (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            exec BLOB NOT NULL,
            desktop_id TEXT NOT NULL,
            data BLOB NOT NULL,
            scope TEXT NOT NULL,
            registered INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
    ]

    static var currentVersion: Int64 { Int64(migrations.count) }
}
