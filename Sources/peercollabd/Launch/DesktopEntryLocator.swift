#if canImport(Glibc)
import Glibc
#endif

/// Finds a desktop entry by its desktop file id in the XDG applications folders:
/// `$XDG_DATA_HOME/applications` first (default `~/.local/share`), then each of
/// `$XDG_DATA_DIRS` (default `/usr/local/share:/usr/share`), as the Base Directory and Desktop
/// Entry specifications say. An id's dashes may stand for subfolders
/// (`kde-konsole.desktop` → `applications/kde/konsole.desktop`).
struct DesktopEntryLocator: Sendable {
    /// The environment whose XDG variables and HOME are read.
    let environment: [String: String]

    /// The data folders in the order of precedence; relative paths are ignored, as the Base
    /// Directory specification demands.
    var dataDirectories: [String] {
        var directories: [String] = []
        if let dataHome = environment["XDG_DATA_HOME"], dataHome.hasPrefix("/") {
            directories.append(dataHome)
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            directories.append(home + "/.local/share")
        }
        let dataDirs = environment["XDG_DATA_DIRS"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/share/:/usr/share/"
        directories += dataDirs.split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        return directories.map { $0.count > 1 && $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    /// Reads and parses the entry with this id; throws `desktopEntryNotFound` naming the folders
    /// searched, or `invalidDesktopEntry`.
    func entry(id: String, for applicationID: String) throws(LaunchError) -> DesktopEntry {
        guard Self.isValidID(id) else {
            throw .invalidRequest(
                "\(applicationID): '\(id)' is not a desktop file id; use a file name such as org.example.App.desktop")
        }
        let directories = dataDirectories
        for directory in directories {
            if let path = Self.find(id[...], in: directory + "/applications", depth: 0) {
                return try DesktopEntry(contents: try Self.contents(of: path, for: applicationID), location: path)
            }
        }
        let searched = directories.map { $0 + "/applications" }.joined(separator: ", ")
        throw .desktopEntryNotFound(
            "\(applicationID): no desktop file \(id) in \(searched.isEmpty ? "any applications folder" : searched); install the application or register it with an exec command line")
    }

    /// A file name ending in `.desktop`, without slashes or NULs, that cannot climb out of the folder.
    static func isValidID(_ id: String) -> Bool {
        id.hasSuffix(".desktop") && id.utf8.count > ".desktop".utf8.count && id.utf8.count <= 255
            && !id.contains("/") && !id.utf8.contains(0) && !id.hasPrefix(".")
    }

    /// `name` in `directory`, or with a dash of it read as a subfolder.
    private static func find(_ name: Substring, in directory: String, depth: Int) -> String? {
        let direct = directory + "/" + name
        if isRegularFile(direct) { return direct }
        // Each dash may stand for a slash; bounded so that a hostile id of dashes stays cheap.
        guard depth < 8 else { return nil }
        var index = name.startIndex
        while let dash = name[index...].firstIndex(of: "-") {
            let prefix = name[..<dash]
            if !prefix.isEmpty, prefix != ".", prefix != "..", isDirectory(directory + "/" + prefix) {
                if let found = find(name[name.index(after: dash)...], in: directory + "/" + prefix, depth: depth + 1) {
                    return found
                }
            }
            index = name.index(after: dash)
        }
        return nil
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The file's bytes, at most one more than the limit (so that DesktopEntry sees it is too big).
    private static func contents(of path: String, for applicationID: String) throws(LaunchError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            throw .desktopEntryNotFound("\(applicationID): \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= DesktopEntry.maximumFileSize {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw .desktopEntryNotFound("\(applicationID): \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes
    }
}
