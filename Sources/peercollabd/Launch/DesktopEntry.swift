/// The parts of a desktop entry (a `.desktop` file) that starting an application needs, read
/// by the Desktop Entry Specification: the `[Desktop Entry]` group's `Type`, `Name`, `Icon`
/// and `Exec` keys.
///
/// `Hidden` and `NoDisplay` do not matter here: the user registered this entry for peercollab
/// and accepted an invitation to it, which says more than a menu hint.
struct DesktopEntry: Sendable, Hashable {
    /// The largest file read; real ones are a few KiB, translated ones rarely above 100 KiB.
    static let maximumFileSize = 1024 * 1024

    /// Where the file is (for `%k` and for messages).
    let location: String
    /// `Name=` (unlocalized), "" when absent.
    let name: String
    /// `Icon=`, "" when absent.
    let icon: String
    /// The command line, field codes expanded for a launch without files.
    let arguments: [String]

    /// Reads the entry from a file's bytes; throws `invalidDesktopEntry` saying what is wrong.
    init(contents: [UInt8], location: String) throws(LaunchError) {
        func invalid(_ reason: String) -> LaunchError {
            .invalidDesktopEntry("\(location): \(reason); fix or reinstall the desktop file")
        }
        guard contents.count <= Self.maximumFileSize else {
            throw invalid("the file is \(contents.count) bytes, more than the \(Self.maximumFileSize) accepted")
        }
        guard let text = String(validating: contents, as: UTF8.self) else { throw invalid("it is not UTF-8 text") }
        let keys: [String: String]
        do {
            keys = try Self.desktopEntryGroup(of: text)
        } catch {
            throw invalid(error.description)
        }
        if let type = keys["Type"], type != "Application" {
            throw invalid("its Type is '\(type)', not 'Application'")
        }
        guard let exec = keys["Exec"] else {
            throw invalid("it has no Exec= line (entries started only through D-Bus activation are not supported)")
        }
        self.location = location
        name = Self.unescape(keys["Name"] ?? "")
        icon = Self.unescape(keys["Icon"] ?? "")
        do {
            arguments = try DesktopEntryExec.arguments(
                of: Self.unescape(exec), context: .init(icon: icon, name: name, location: location))
        } catch {
            throw invalid("its Exec= line cannot be used: \(error.description)")
        }
    }

    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    /// The unlocalized keys of the `[Desktop Entry]` group; a later duplicate wins, as in GLib.
    private static func desktopEntryGroup(of text: String) throws(FormatError) -> [String: String] {
        var keys: [String: String] = [:]
        var group: Substring?
        var sawGroup = false
        var sawDesktopEntry = false
        // "\r\n" is one Character in Swift, so it is a separator of its own.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, line) in lines.enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]"), trimmed.count >= 3 else {
                    throw FormatError(description: "line \(index + 1) is a malformed group header")
                }
                group = trimmed.dropFirst().dropLast()
                sawGroup = true
                if group == "Desktop Entry" { sawDesktopEntry = true }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw FormatError(description: "line \(index + 1) is neither a group, a key=value pair nor a comment")
            }
            guard sawGroup else { throw FormatError(description: "line \(index + 1) is a key outside any group") }
            guard group == "Desktop Entry" else { continue }
            let key = line[..<equals].trimmingSuffix { $0 == " " || $0 == "\t" }
            guard !key.isEmpty else { throw FormatError(description: "line \(index + 1) has an empty key") }
            // Localized variants (Name[de]) are for menus; the unlocalized value serves here.
            if key.contains("[") { continue }
            let value = line[line.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            keys[String(key)] = String(value)
        }
        guard sawDesktopEntry else { throw FormatError(description: "it has no [Desktop Entry] group") }
        return keys
    }

    /// The key-file escapes of string values: `\s`, `\n`, `\t`, `\r`, `\\`. Any other backslash
    /// stays, for the Exec rules to read (`\"` inside a quoted argument).
    static func unescape(_ value: String) -> String {
        guard value.contains("\\") else { return value }
        var result = String.UnicodeScalarView()
        var scalars = value.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == "\\" else {
                result.append(scalar)
                continue
            }
            guard let next = scalars.next() else {
                result.append(scalar)
                break
            }
            switch next {
            case "s": result.append(" ")
            case "n": result.append("\n")
            case "t": result.append("\t")
            case "r": result.append("\r")
            case "\\": result.append("\\")
            default:
                result.append(scalar)
                result.append(next)
            }
        }
        return String(result)
    }
}

extension Substring {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[startIndex..<end]
    }
}
