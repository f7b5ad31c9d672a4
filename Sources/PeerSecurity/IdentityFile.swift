#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing the identity's files so that a crash at any moment
/// leaves either the old file or the new one, never a torn one, and so that a
/// private key is never readable by anyone else, not even for an instant.
enum IdentityFile {
    /// Writes `bytes` to `path` atomically with the given mode: a temporary
    /// file created with O_EXCL and that mode (so it is never wider), fsync,
    /// rename over the target, fsync of the folder so the rename itself is durable.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
        var random: UInt64 = 0
        withUnsafeMutableBytes(of: &random) { _ = RAND_bytesShim($0) }
        let temporary = "\(path).tmp-\(getpid())-\(String(random, radix: 36))"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard descriptor >= 0 else { throw PeerSecurityError.fileSystem("create", path: temporary, errno: errno) }
        var renamed = false
        defer {
            if !renamed { unlink(temporary) }
        }
        do {
            defer { close(descriptor) }
            // umask may have narrowed the mode; fchmod makes it exactly what was asked.
            guard fchmod(descriptor, mode) == 0 else { throw PeerSecurityError.fileSystem("set the mode of", path: temporary, errno: errno) }
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw PeerSecurityError.fileSystem("write", path: temporary, errno: errno)
                }
                offset += written
            }
            guard fsync(descriptor) == 0 else { throw PeerSecurityError.fileSystem("flush", path: temporary, errno: errno) }
        }
        guard rename(temporary, path) == 0 else { throw PeerSecurityError.fileSystem("rename into place", path: path, errno: errno) }
        renamed = true
        let folder = Self.folder(of: path)
        let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folderDescriptor >= 0 else { throw PeerSecurityError.fileSystem("open", path: folder, errno: errno) }
        defer { close(folderDescriptor) }
        guard fsync(folderDescriptor) == 0 else { throw PeerSecurityError.fileSystem("flush", path: folder, errno: errno) }
    }

    /// What `read` found.
    enum Contents {
        case missing
        case present([UInt8])
    }

    /// Reads a file; with `private` set, refuses one that group or others can
    /// read or write, or that another user owns. The checks use the descriptor
    /// that is then read (fstat), so the file cannot be swapped in between.
    static func read(_ path: String, private isPrivate: Bool, limit: Int = 64 * 1024) throws -> Contents {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else {
            if errno == ENOENT { return .missing }
            throw PeerSecurityError.fileSystem("open", path: path, errno: errno)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw PeerSecurityError.fileSystem("inspect", path: path, errno: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw PeerSecurityError.malformedFile(path: path, reason: "it is not a regular file")
        }
        if isPrivate {
            guard status.st_uid == geteuid() else {
                throw PeerSecurityError.keyFileNotOwned(path: path, owner: status.st_uid, user: geteuid())
            }
            guard status.st_mode & 0o077 == 0 else {
                throw PeerSecurityError.keyFileExposed(path: path, mode: status.st_mode)
            }
        }
        // Identity files are a few hundred bytes; anything large is not ours.
        guard status.st_size <= limit else {
            throw PeerSecurityError.malformedFile(path: path, reason: "it is \(status.st_size) bytes, far larger than a file of ours of this kind")
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var offset = 0
        while offset < bytes.count {
            let count = bytes.count - offset
            let got = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + offset, count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw PeerSecurityError.fileSystem("read", path: path, errno: errno)
            }
            if got == 0 { break }
            offset += got
        }
        return .present(Array(bytes.prefix(offset)))
    }

    /// Creates `path` (and missing parents) with mode 0700 for new folders.
    static func makeFolder(_ path: String) throws {
        var status = stat()
        if stat(path, &status) == 0 {
            guard status.st_mode & S_IFMT == S_IFDIR else {
                throw PeerSecurityError(code: .fileSystem, message: "Failed to use \(path) as the identity folder: it is not a folder.")
            }
            return
        }
        let parent = folder(of: path)
        if parent != path && parent != "/" && parent != "." { try makeFolder(parent) }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw PeerSecurityError.fileSystem("create the folder", path: path, errno: errno)
        }
    }

    static func folder(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }
}

import COpenSSL

/// RAND_bytes over a raw buffer; a failure leaves the buffer as it was, which
/// only makes a temporary file name less unpredictable (O_EXCL still guards it).
private func RAND_bytesShim(_ buffer: UnsafeMutableRawBufferPointer) -> Int32 {
    RAND_bytes(buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(buffer.count))
}
