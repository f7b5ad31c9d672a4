/// Who may invite me (the Manager's `InvitationPolicy`).
public enum InvitationPolicy: String, Sendable, Hashable, CaseIterable, Codable {
    /// Any peer that reaches me: near me, anyone signed in on my link.
    case anyone
    /// Only peers on my contact list, verified or not (as Windows' "contacts" meant any
    /// contact): the key is pinned either way, so nobody else can claim the name.
    case contacts
    /// Nobody: every invitation is answered `failed` at once.
    case nobody

    /// The default: anyone, as Windows People Near Me allowed; the user still answers each
    /// invitation, and per-peer limits hold.
    public static let standard = InvitationPolicy.anyone

    /// Parses a policy argument; throws InvalidArgument naming the three choices.
    public static func parse(_ text: String) throws(CollaborationError) -> InvitationPolicy {
        guard let policy = InvitationPolicy(rawValue: text) else {
            throw .invalidArgument("'\(text)' is not an invitation policy: use anyone, contacts or nobody.")
        }
        return policy
    }
}
