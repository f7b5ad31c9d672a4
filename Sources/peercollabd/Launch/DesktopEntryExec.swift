/// The `Exec=` value of a desktop entry turned into an argument vector, by the rules of the
/// Desktop Entry Specification ("The Exec key"): arguments separated by spaces, double-quoted
/// arguments with `\"` `` \` `` `\$` `\\` escapes, `%%` for a percent sign, and field codes
/// expanded for a launch without files or URLs.
///
/// No shell is involved: characters the specification reserves (`|`, `;`, `>`, `$`, ...) are
/// taken literally, so a desktop entry cannot make the daemon run more than one program. Single
/// quotes are accepted as GLib accepts them, for entries written for it.
enum DesktopEntryExec {
    /// The longest `Exec=` value accepted; real ones are a few hundred bytes.
    static let maximumLength = 32 * 1024
    /// The most arguments accepted.
    static let maximumArguments = 1024

    /// What the context-dependent field codes expand to.
    struct Context: Sendable, Hashable {
        /// `Icon=`, for `%i` (which becomes `--icon ICON`, or nothing without an icon).
        var icon: String = ""
        /// `Name=`, for `%c`.
        var name: String = ""
        /// The desktop file's location, for `%k`.
        var location: String = ""
    }

    /// The arguments of `value` (already unescaped at the key-file level: `\s`, `\n`, `\t`,
    /// `\r`, `\\`), with field codes expanded; throws a description of the first problem.
    static func arguments(of value: String, context: Context = Context()) throws(ExecSyntaxError) -> [String] {
        guard value.utf8.count <= maximumLength else {
            throw ExecSyntaxError("it is \(value.utf8.count) bytes long; at most \(maximumLength) are accepted")
        }
        guard !value.utf8.contains(0) else { throw ExecSyntaxError("it contains a NUL character") }
        var arguments: [String] = []
        for word in try words(of: value) {
            arguments += expand(word, context: context)
            guard arguments.count <= maximumArguments else {
                throw ExecSyntaxError("it has more than \(maximumArguments) arguments")
            }
        }
        guard let program = arguments.first, !program.isEmpty else {
            throw ExecSyntaxError("it names no program")
        }
        return arguments
    }

    /// A problem in an `Exec=` value.
    struct ExecSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: Words

    /// One argument before expansion: literal text and unquoted field codes.
    private enum Piece: Hashable {
        case text(String)
        case fieldCode(Unicode.Scalar)
    }

    /// Field codes for files and URLs (none are passed at an invitation) and the deprecated
    /// ones: all expand to nothing.
    private static let emptyCodes: Set<Unicode.Scalar> = ["f", "F", "u", "U", "d", "D", "n", "N", "v", "m"]
    private static let contextCodes: Set<Unicode.Scalar> = ["i", "c", "k"]
    private static let separators: Set<Unicode.Scalar> = [" ", "\t", "\n"]
    /// The characters a backslash escapes inside double quotes; before any other it is literal.
    private static let quotedEscapes: Set<Unicode.Scalar> = ["\"", "`", "$", "\\"]

    private static func words(of value: String) throws(ExecSyntaxError) -> [[Piece]] {
        var words: [[Piece]] = []
        var pieces: [Piece] = []
        var text = ""
        var inWord = false
        func endWord() {
            if !text.isEmpty { pieces.append(.text(text)) }
            words.append(pieces)
            pieces = []
            text = ""
            inWord = false
        }
        // Scalars, not Characters: a combining mark after a quote must not hide the quote.
        let scalars = Array(value.unicodeScalars)
        var index = 0
        func next() -> Unicode.Scalar? {
            guard index < scalars.count else { return nil }
            defer { index += 1 }
            return scalars[index]
        }
        while let character = next() {
            if separators.contains(character) {
                if inWord { endWord() }
                continue
            }
            inWord = true
            switch character {
            case "\"":
                var closed = false
                while let inner = next() {
                    if inner == "\"" { closed = true; break }
                    if inner == "\\" {
                        guard let escaped = next() else { break }
                        if !quotedEscapes.contains(escaped) { text.unicodeScalars.append("\\") }
                        text.unicodeScalars.append(escaped)
                    } else if inner == "%", index < scalars.count, scalars[index] == "%" {
                        // %% is a percent sign everywhere; other codes are not expanded in quotes.
                        index += 1
                        text.unicodeScalars.append("%")
                    } else {
                        text.unicodeScalars.append(inner)
                    }
                }
                guard closed else { throw ExecSyntaxError("a double quote is never closed") }
            case "'":
                var closed = false
                while let inner = next() {
                    if inner == "'" { closed = true; break }
                    text.unicodeScalars.append(inner)
                }
                guard closed else { throw ExecSyntaxError("a single quote is never closed") }
            case "\\":
                guard let escaped = next() else { throw ExecSyntaxError("it ends with a lone backslash") }
                text.unicodeScalars.append(escaped)
            case "%":
                guard let code = next() else { throw ExecSyntaxError("it ends with a lone '%'; write %% for a percent sign") }
                if code == "%" {
                    text.unicodeScalars.append("%")
                } else if emptyCodes.contains(code) || contextCodes.contains(code) {
                    if !text.isEmpty { pieces.append(.text(text)) }
                    text = ""
                    pieces.append(.fieldCode(code))
                } else {
                    throw ExecSyntaxError("'%\(code)' is not a field code; write %% for a percent sign")
                }
            default:
                text.unicodeScalars.append(character)
            }
        }
        if inWord { endWord() }
        return words
    }

    private static func expand(_ word: [Piece], context: Context) -> [String] {
        // A field code standing alone is an argument of its own (or several, or none).
        if word.count == 1, case .fieldCode(let code) = word[0] {
            switch code {
            case "i": return context.icon.isEmpty ? [] : ["--icon", context.icon]
            case "c": return [context.name]
            case "k": return [context.location]
            default: return []
            }
        }
        var argument = ""
        for piece in word {
            switch piece {
            case .text(let text): argument += text
            case .fieldCode("i"): argument += context.icon
            case .fieldCode("c"): argument += context.name
            case .fieldCode("k"): argument += context.location
            case .fieldCode: break
            }
        }
        return [argument]
    }
}
