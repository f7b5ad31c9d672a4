#if canImport(Glibc)
import Glibc
#endif

/// Turns the program of a command line into an absolute path, as systemd's `ExecStart` needs
/// one and a direct spawn must not search a PATH of its own choosing: a name with a slash is
/// taken as it is (relative to nothing: it must be absolute), a bare name is looked up on PATH.
struct ProgramLocator: Sendable {
    /// PATH as the user's session has it; the default is the one systemd gives user services.
    let searchPath: String

    init(environment: [String: String]) {
        let path = environment["PATH"] ?? ""
        searchPath = path.isEmpty ? "/usr/local/bin:/usr/bin:/bin" : path
    }

    /// The absolute path of an executable regular file for `program`, or `programNotFound`
    /// saying which file is missing or not executable.
    func resolve(_ program: String, for applicationID: String) throws(LaunchError) -> String {
        guard !program.isEmpty, !program.utf8.contains(0) else {
            throw .invalidRequest("\(applicationID): the command line has no program")
        }
        if program.contains("/") {
            guard program.hasPrefix("/") else {
                throw .invalidRequest(
                    "\(applicationID): \(program): a program path must be absolute (or a bare name looked up on PATH)")
            }
            if let problem = Self.problem(with: program) {
                throw .programNotFound("\(applicationID): \(program): \(problem)")
            }
            return program
        }
        for directory in searchPath.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = String(directory) + (directory.hasSuffix("/") ? "" : "/") + program
            if Self.problem(with: candidate) == nil { return candidate }
        }
        throw .programNotFound(
            "\(applicationID): \(program): not found on PATH (\(searchPath)); install it or register the application with an absolute path")
    }

    /// Why `path` cannot be executed, or nil when it can.
    private static func problem(with path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return errno == ENOENT ? "no such file" : String(cString: strerror(errno)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return "not a regular file" }
        guard access(path, X_OK) == 0 else { return "not executable (\(String(cString: strerror(errno))))" }
        return nil
    }
}
