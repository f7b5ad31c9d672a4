import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The data folder (key, certificate, contacts), made private and held by one daemon.
///
/// Two daemons on one key and one store (a second session bus of the same user activates a
/// second one) would answer peers as the same identity and write the same SQLite store. The
/// first takes an exclusive `flock` on `peercollabd.lock` and writes its PID there; a second
/// is refused with that PID. The lock goes with the process, however it ends, so a stale
/// file from a killed daemon holds nobody back.
///
/// A folder that others may read or enter (0755, from an older version or made by hand) is
/// made 0700: it holds the private key.
final class DataFolderLock: Sendable {
    static let fileName = "peercollabd.lock"

    private let descriptor: Int32

    init(_ folder: String, logger: Logger) throws {
        try Self.makeFolder(folder)
        var status = stat()
        guard stat(folder, &status) == 0 else { throw Self.failure("read the data folder \(folder)", errno) }
        let mode = status.st_mode & 0o7777
        if mode & 0o077 != 0 {
            guard chmod(folder, 0o700) == 0 else {
                throw Self.failure("make the data folder \(folder) private (chmod 0700)", errno)
            }
            logger.notice(
                "Made the data folder private: others could read it",
                metadata: ["folder": "\(folder)", "mode_before": "\(String(mode, radix: 8))", "mode": "700"])
        }
        let path = folder + "/" + Self.fileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw Self.failure("open the lock file \(path)", errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = Self.readPID(descriptor)
            close(descriptor)
            guard reason == EWOULDBLOCK else { throw Self.failure("lock \(path)", reason) }
            let who = holder.map { "peercollabd with PID \($0)" } ?? "another peercollabd"
            throw DaemonError(
                "\(who) already uses the data folder \(folder) (it holds \(path)). One daemon runs per identity: stop that one first (systemctl --user stop peercollab, or kill \(holder.map(String.init) ?? "it")).")
        }
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(descriptor, 0) == 0, pwrite(descriptor, text, text.count, 0) == text.count else {
            let reason = errno
            close(descriptor)
            throw Self.failure("write my PID into \(path)", reason)
        }
        self.descriptor = descriptor
    }

    /// Gives the folder up (closing the file drops the lock); the file stays.
    func release() {
        close(descriptor)
    }

    private static func readPID(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self)
        return Int32(text.prefix { $0 != "\n" })
    }

    /// Creates `path` and missing parents, new folders with mode 0700.
    private static func makeFolder(_ path: String) throws {
        var status = stat()
        if stat(path, &status) == 0 { return }
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeFolder(String(path[..<slash]))
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw failure("create the data folder \(path)", errno) }
    }

    private static func failure(_ action: String, _ code: Int32) -> DaemonError {
        DaemonError("Failed to \(action): \(String(cString: strerror(code))).")
    }
}
