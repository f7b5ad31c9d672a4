/// Why a contact card was refused: what was wrong, where, and what the user can do about it.
///
/// Import never stores part of a card, so any of these means nothing changed.
public struct ContactCardError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of problem, for callers that map errors to D-Bus error names.
    public enum Code: String, Hashable, Sendable {
        /// The text is not a vCard at all (no `BEGIN:VCARD` … `END:VCARD`).
        case notAVCard
        /// The card is over the size or line limits.
        case tooLarge
        /// A field every contact card needs (FN, KEY, the peer name, VERSION) is absent.
        case missingField
        /// A field that may appear once appears twice.
        case repeatedField
        /// A field is present but its value is unusable.
        case invalidValue
        /// The card is a vCard of another version than 4.0.
        case unsupportedVersion
        /// A line does not follow the vCard content-line syntax.
        case malformedLine
    }

    /// The kind of problem.
    public let code: Code
    /// The vCard property concerned (`FN`, `KEY`, …), when there is one.
    public let field: String?
    /// The 1-based line of the card where the problem is, when there is one.
    public let line: Int?
    /// A sentence for a person: what was wrong and what to do.
    public let message: String

    /// Makes an error; prefer the static factories, which write the message.
    public init(code: Code, field: String? = nil, line: Int? = nil, message: String) {
        self.code = code
        self.field = field
        self.line = line
        self.message = message
    }

    public var description: String { message }
}

extension ContactCardError {
    static let advice = "Ask the sender to export the card again from peercollab and send the whole file."

    /// The text does not look like a vCard.
    static func notAVCard(_ reason: String, line: Int? = nil) -> Self {
        Self(code: .notAVCard, line: line, message: "This is not a contact card: \(reason). \(advice)")
    }

    /// The card is bigger than `limit` allows.
    static func tooLarge(_ what: String, limit: String) -> Self {
        Self(code: .tooLarge, message: "The contact card is too large: \(what), but at most \(limit) is accepted. \(advice)")
    }

    /// A required field is absent.
    static func missingField(_ field: String, meaning: String) -> Self {
        Self(
            code: .missingField, field: field,
            message: "The contact card has no \(field) (\(meaning)); a peercollab contact card needs one. \(advice)"
        )
    }

    /// A field that may appear once appears again.
    static func repeatedField(_ field: String, line: Int, firstLine: Int) -> Self {
        Self(
            code: .repeatedField, field: field, line: line,
            message: "The contact card has \(field) twice (lines \(firstLine) and \(line)); it must appear once, "
                + "so it is unclear which one to trust. \(advice)"
        )
    }

    /// A field's value is unusable; `reason` starts with a verb ("is empty; …").
    static func invalidValue(_ field: String, line: Int?, _ reason: String) -> Self {
        let place = line.map { " on line \($0)" } ?? ""
        return Self(code: .invalidValue, field: field, line: line, message: "The \(label(field))\(place) \(reason).")
    }

    /// What a property means to a user, with its vCard name for whoever reads the file.
    static func label(_ field: String) -> String {
        switch field {
        case "FN": "display name (FN)"
        case "EMAIL": "email address (EMAIL)"
        case "KEY": "certificate (KEY)"
        case ContactCard.peerNameProperty: "peer name (\(field))"
        case ContactCard.endpointProperty: "endpoint (\(field))"
        default: field
        }
    }

    /// The card is of a version this reader does not take.
    static func unsupportedVersion(_ version: String, line: Int) -> Self {
        Self(
            code: .unsupportedVersion, field: "VERSION", line: line,
            message: "The contact card is vCard \"\(version)\" (line \(line)), but peercollab reads vCard 4.0 only. "
                + "Export the card again from peercollab, which writes vCard 4.0."
        )
    }

    /// A line breaks the content-line syntax.
    static func malformedLine(_ line: Int, _ reason: String) -> Self {
        Self(code: .malformedLine, line: line, message: "Line \(line) of the contact card is malformed: \(reason). \(advice)")
    }
}
