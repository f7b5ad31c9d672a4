import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Durable whole-file replacement: write a temporary file, fsync it, rename it over the
/// target, fsync the directory. Readers see the old or the new file, never half of one.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL, mode: mode_t) throws {
        let directory = url.deletingLastPathComponent().path
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw failure("create", temporary) }
        var ok = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
        ok = ok && fchmod(fd, mode) == 0 && fsync(fd) == 0
        let writeErrno = errno
        close(fd)
        guard ok else {
            unlink(temporary)
            errno = writeErrno
            throw failure("write", temporary)
        }
        guard rename(temporary, url.path) == 0 else {
            let error = failure("replace", url.path)
            unlink(temporary)
            throw error
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    private static func failure(_ verb: String, _ path: String) -> CollaborationError {
        .failed("Failed to \(verb) \(path): \(String(cString: strerror(errno)))")
    }
}
