/// Where I am visible and look for others (docs/dbus-api.md's scope strings).
public enum Scope: String, Sendable, Hashable, CaseIterable, Comparable {
    /// The local link: DNS-SD announcements, channels to those who answer.
    case nearMe = "near-me"
    /// Contacts at the endpoints they gave, beyond the subnet.
    case internet = "internet"

    /// Parses a scope argument: `near-me`, `internet`, or `all` (both).
    public static func parse(_ text: String) throws -> Set<Scope> {
        if text == "all" { return Set(allCases) }
        guard let scope = Scope(rawValue: text) else {
            throw CollaborationError.invalidArgument("'\(text)' is not a scope: use near-me, internet or all.")
        }
        return [scope]
    }

    public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }
}
