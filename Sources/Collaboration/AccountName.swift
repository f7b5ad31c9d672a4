#if canImport(Glibc)
import Glibc
#endif

/// The user's name from the password database: the full name from GECOS, else the login.
public enum AccountName {
    public static func current() -> String {
        guard let entry = getpwuid(getuid()) else { return "User \(getuid())" }
        let login = String(cString: entry.pointee.pw_name)
        guard let gecos = entry.pointee.pw_gecos else { return login }
        let fullName = String(cString: gecos).split(separator: ",", omittingEmptySubsequences: false).first
            .map(String.init) ?? ""
        let trimmed = fullName.trimmingWhitespace()
        guard !trimmed.isEmpty, (try? DisplayName.validated(String(trimmed))) != nil else { return login }
        return String(trimmed)
    }
}
