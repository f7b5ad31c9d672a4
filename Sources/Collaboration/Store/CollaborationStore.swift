#if canImport(Glibc)
import Glibc
#endif

/// Contacts, published objects and registered applications in one SQLite file
/// (`$XDG_DATA_HOME/peercollab/peercollab.db`). WAL with `synchronous=FULL`: every write
/// returns after its transaction is on disk, so a reply sent after it survives `kill -9` and
/// power loss. A damaged file is never wiped: it is moved aside and named in ``damagedCopy``;
/// a file from a newer peercollab is left untouched and refused.
public final class CollaborationStore {
    public let path: String
    /// Where a damaged database was moved at open, for the log and `Diagnose`.
    public private(set) var damagedCopy: String?
    let database: SQLiteDatabase

    /// Opens the store in `directory` (created 0700 if missing).
    public init(directory: String) throws(StoreError) {
        path = directory + "/peercollab.db"
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw StoreError(.readOnly, "Failed to create \(directory): \(String(cString: strerror(errno))).")
        }
        // Created owner-only before SQLite sees it; its -wal and -shm files copy this mode.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd >= 0 { close(fd) }
        do {
            database = try Self.openChecked(path)
        } catch where error.code == .corrupt {
            let copy = try Self.moveAside(path)
            damagedCopy = copy
            database = try Self.openChecked(path)
        }
    }

    /// Opens, checks integrity and schema version, and migrates.
    private static func openChecked(_ path: String) throws(StoreError) -> SQLiteDatabase {
        let database = try SQLiteDatabase(path: path)
        let version = try database.integer("PRAGMA user_version")
        guard version <= StoreSchema.currentVersion else {
            throw StoreError(
                .newerSchema,
                "The database \(path) was written by a newer peercollab (schema \(version); this one knows up to "
                    + "\(StoreSchema.currentVersion)). It was left untouched: update peercollab, or move the file aside "
                    + "to start with an empty contact list.")
        }
        let check = try database.statement("PRAGMA quick_check")
        let verdict = try check.step() ? check.text(0) : "ok"
        check.reset()
        guard verdict == "ok" else {
            throw StoreError(.corrupt, "The database \(path) failed its integrity check: \(verdict).")
        }
        try database.execute("PRAGMA journal_mode=WAL")
        try database.execute("PRAGMA synchronous=FULL")
        try database.execute("PRAGMA foreign_keys=ON")
        if version < StoreSchema.currentVersion {
            try database.transaction { () throws(StoreError) in
                for migration in StoreSchema.migrations[Int(version)...] { try database.execute(migration) }
                try database.execute("PRAGMA user_version=\(StoreSchema.currentVersion)")
            }
        }
        return database
    }

    /// Renames the damaged file (and its WAL and shared-memory files) out of the way; returns
    /// the new name of the main file.
    private static func moveAside(_ path: String) throws(StoreError) -> String {
        var stamp = timespec()
        clock_gettime(CLOCK_REALTIME, &stamp)
        let copy = "\(path).damaged-\(stamp.tv_sec)"
        for suffix in ["", "-wal", "-shm"] where access(path + suffix, F_OK) == 0 {
            guard rename(path + suffix, copy + suffix) == 0 else {
                throw StoreError(.failed, "The database \(path) is damaged, and moving it aside to \(copy) failed: \(String(cString: strerror(errno))).")
            }
        }
        return copy
    }
}
