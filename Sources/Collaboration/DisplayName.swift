/// The checks every human-facing name passes: display names and nicknames alike.
public enum DisplayName {
    /// docs/dbus-api.md: 1–128 characters of UTF-8.
    public static let maximumCharacters = 128

    /// Returns `text` if it is an acceptable name, else throws `InvalidArgument` saying why.
    public static func validated(_ text: String, what: String = "display name") throws -> String {
        let count = text.count
        guard count >= 1 else {
            throw CollaborationError.invalidArgument("The \(what) must not be empty.")
        }
        guard count <= maximumCharacters else {
            throw CollaborationError.invalidArgument(
                "The \(what) is \(count) characters long; at most \(maximumCharacters) are allowed.")
        }
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw CollaborationError.invalidArgument("The \(what) must not contain control characters.")
        }
        try InvisibleCharacters.refuse(in: text, what: what)
        guard !text.trimmingWhitespace().isEmpty else {
            throw CollaborationError.invalidArgument("The \(what) must not be only white space.")
        }
        return text
    }
}

extension String {
    func trimmingWhitespace() -> Substring {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return Substring(scalars[first...last])
    }
}
