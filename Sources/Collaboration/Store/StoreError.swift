import CSQLite

/// Why the store could not open, read or write; the message names the file and says what to do.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The file is not a database, or fails its integrity check.
        case corrupt
        /// A newer peercollab wrote it; this build does not know its schema.
        case newerSchema
        /// The disk is full or the file cannot be written.
        case diskFull
        case readOnly
        /// Any other SQLite or I/O failure.
        case failed
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Classifies a SQLite result code (extended codes allowed).
    init(status: Int32, path: String, doing: String, reason: String) {
        switch status & 0xff {
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            self.init(.corrupt, "The database \(path) is damaged (\(reason)) and could not \(doing).")
        case SQLITE_FULL:
            self.init(.diskFull, "Failed to \(doing) in \(path): the disk is full. Free some space and try again.")
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN:
            self.init(.readOnly, "Failed to \(doing) in \(path): \(reason). Check that the folder is writable by you.")
        default:
            self.init(.failed, "Failed to \(doing) in \(path): \(reason).")
        }
    }
}

extension CollaborationError {
    /// A store failure as a D-Bus caller sees it: nothing was changed.
    init(_ error: StoreError) {
        self.init(.failed, error.message + " Nothing was changed.")
    }
}
