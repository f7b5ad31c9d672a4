#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Recognises a file descriptor that the service manager connected to journald.
///
/// systemd sets `JOURNAL_STREAM=<device>:<inode>` for a unit whose output goes to the journal.
/// The variable is inherited by children whose stderr may go elsewhere, so it only counts
/// when the descriptor's own device and inode match (systemd.exec(5)).
public enum JournalStream {
    /// True when this process's stderr is the journal stream systemd set up.
    public static var isStandardErrorJournalStream: Bool {
        guard let value = getenv("JOURNAL_STREAM") else { return false }
        return matches(String(cString: value), descriptor: STDERR_FILENO)
    }

    /// Whether `descriptor` is the stream a `JOURNAL_STREAM` value names.
    public static func matches(_ journalStream: String, descriptor: Int32) -> Bool {
        guard let (device, inode) = parse(journalStream) else { return false }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// The device and inode of a `JOURNAL_STREAM` value, nil unless it is two decimal numbers.
    public static func parse(_ journalStream: String) -> (device: UInt64, inode: UInt64)? {
        let parts = journalStream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2,
            parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") } }),
            let device = UInt64(parts[0]), let inode = UInt64(parts[1])
        else { return nil }
        return (device, inode)
    }
}
