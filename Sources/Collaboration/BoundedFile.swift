import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole file without trusting its size: files on disk are input like any other.
public enum BoundedFile {
    public enum Result: Sendable {
        case contents(Data)
        case missing
        case tooLarge
        case failed(String)
    }

    /// Reads at most `limit` bytes; a longer file is `.tooLarge`, not truncated.
    public static func read(_ path: String, limit: Int) -> Result {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            return errno == ENOENT ? .missing : .failed(String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failed(String(cString: strerror(errno)))
            }
            if count == 0 { return .contents(data) }
            data.append(contentsOf: chunk[0..<count])
            if data.count > limit { return .tooLarge }
        }
    }
}
