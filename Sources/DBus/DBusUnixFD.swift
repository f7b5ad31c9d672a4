#if canImport(Glibc)
import Glibc
#endif

/// A Unix file descriptor carried in a message; the object owns the descriptor and closes it.
///
/// Immutable after creation (one `let`), so sharing it between tasks is safe.
public final class DBusUnixFD: Hashable, Sendable {
    /// The descriptor number, valid while this object lives.
    public let fileDescriptor: Int32

    /// Takes ownership of `fileDescriptor`.
    public init(takingOwnershipOf fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// Duplicates `fileDescriptor` (close-on-exec) and owns the copy.
    public init(duplicating fileDescriptor: Int32) throws {
        let copy = fcntl(fileDescriptor, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else {
            throw DBusError.failed("Failed to duplicate file descriptor \(fileDescriptor): errno \(errno)")
        }
        self.fileDescriptor = copy
    }

    deinit { close(fileDescriptor) }

    public static func == (lhs: DBusUnixFD, rhs: DBusUnixFD) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
