/// One unfolded vCard content line, `[group.]NAME *(";" param) ":" value` (RFC 6350 §3.3),
/// with its value still escaped: only the property knows whether it is text or a URI.
struct ContactCardContentLine {
    /// A parameter such as `MEDIATYPE=application/pkix-cert` or `TYPE="work,voice"`.
    struct Parameter {
        var name: String
        var values: [String]
    }

    /// The property name, upper-cased (names are case-insensitive).
    var name: String
    var parameters: [Parameter]
    var value: String
    /// The 1-based physical line where this content line starts.
    var line: Int

    static let maximumParameters = 16

    /// The values of the parameter named `name` (upper case), if present.
    func parameter(_ name: String) -> [String]? {
        parameters.first { $0.name == name }?.values
    }
}

// MARK: - Unfolding

extension ContactCardContentLine {
    /// Splits a card into content lines: lines end in CRLF or LF, a line that starts with a
    /// space or tab continues the previous one (RFC 6350 §3.2), blank lines are skipped.
    static func lines(of text: String) throws(ContactCardError) -> [ContactCardContentLine] {
        var bytes = Array(text.utf8)
        // Windows tools put a byte-order mark before BEGIN; it is not part of the card.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }

        var logical: [(line: Int, bytes: [UInt8])] = []
        var continuable = false
        var physicalLine = 0
        var start = 0
        while start <= bytes.count {
            physicalLine += 1
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            var end = newline
            if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            let physical = bytes[start..<end]
            start = newline + 1

            do {
                try rejectControlCharacters(physical, line: physicalLine)
            } catch {
                throw logical.isEmpty ? notAVCard(physicalLine) : error
            }
            guard let first = physical.first else {
                continuable = false
                continue
            }
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                guard continuable else {
                    if logical.isEmpty { throw notAVCard(physicalLine) }
                    throw .malformedLine(physicalLine, "it starts with a blank, which continues a folded line, but there is no line before it to continue")
                }
                logical[logical.count - 1].bytes += physical.dropFirst()
            } else {
                guard logical.count < ContactCard.maximumContentLines else {
                    throw .tooLarge("it has more than \(ContactCard.maximumContentLines) lines", limit: "\(ContactCard.maximumContentLines)")
                }
                logical.append((physicalLine, Array(physical)))
                continuable = true
            }
        }
        var lines: [ContactCardContentLine] = []
        lines.reserveCapacity(logical.count)
        for (line, bytes) in logical {
            do {
                lines.append(try ContactCardContentLine(bytes, line: line))
            } catch {
                throw lines.isEmpty ? notAVCard(line) : error
            }
        }
        return lines
    }

    /// Text whose first line is not even a content line is something else entirely.
    private static func notAVCard(_ line: Int) -> ContactCardError {
        .notAVCard("it does not start with BEGIN:VCARD (line \(line) is not a vCard line)", line: line)
    }

    /// A card is lines of text: C0 controls other than tab, DEL and C1 controls have no place
    /// in it, and a lone CR would hide a line break from readers that split on CRLF.
    private static func rejectControlCharacters(_ bytes: ArraySlice<UInt8>, line: Int) throws(ContactCardError) {
        var previous: UInt8 = 0
        for byte in bytes {
            let isC1 = previous == 0xC2 && (0x80...0x9F).contains(byte)
            if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F || isC1 {
                // A C1 control's code point equals its second UTF-8 byte.
                let scalar = Unicode.Scalar(byte)
                throw .malformedLine(line, "it holds the control character \(scalar.codePointDescription); a contact card is plain lines of text")
            }
            previous = byte
        }
    }
}

// MARK: - Lexing one line

extension ContactCardContentLine {
    init(_ bytes: [UInt8], line: Int) throws(ContactCardError) {
        var index = 0
        func isNameByte(_ byte: UInt8) -> Bool { byte.isASCIILetterOrDigit || byte == UInt8(ascii: "-") }
        func describe(_ index: Int) -> String {
            // Show the whole character, not one byte of it.
            let scalar = String(decoding: bytes[index...].prefix(4), as: UTF8.self).unicodeScalars.first ?? "?"
            return scalar.properties.isWhitespace ? scalar.codePointDescription : "\"\(scalar)\""
        }

        while index < bytes.count, isNameByte(bytes[index]) || bytes[index] == UInt8(ascii: ".") { index += 1 }
        let qualified = bytes[..<index]
        guard !qualified.isEmpty else {
            throw .malformedLine(line, "it does not start with a property name (a line reads NAME:value)")
        }
        guard index < bytes.count else {
            throw .malformedLine(line, "it has no ':' between the property name and its value")
        }
        guard bytes[index] == UInt8(ascii: ";") || bytes[index] == UInt8(ascii: ":") else {
            throw .malformedLine(line, "the property name is followed by \(describe(index)) where ':' or ';' belongs")
        }
        let parts = qualified.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }) else {
            throw .malformedLine(line, "\"\(String(decoding: qualified, as: UTF8.self))\" is not a property name (NAME or group.NAME)")
        }
        name = String(decoding: parts[parts.count - 1], as: UTF8.self).uppercased()

        parameters = []
        while bytes[index] == UInt8(ascii: ";") {
            index += 1
            let nameStart = index
            while index < bytes.count, isNameByte(bytes[index]) { index += 1 }
            guard index > nameStart else {
                throw .malformedLine(line, "a ';' in \(name) is not followed by a parameter name")
            }
            guard parameters.count < Self.maximumParameters else {
                throw .malformedLine(line, "\(name) has more than \(Self.maximumParameters) parameters")
            }
            let parameterName = String(decoding: bytes[nameStart..<index], as: UTF8.self).uppercased()
            var values: [String] = []
            if index < bytes.count, bytes[index] == UInt8(ascii: "=") {
                repeat {
                    index += 1
                    let valueStart: Int
                    let valueEnd: Int
                    if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                        valueStart = index + 1
                        guard let close = bytes[valueStart...].firstIndex(of: UInt8(ascii: "\"")) else {
                            throw .malformedLine(line, "the parameter \(parameterName) of \(name) opens a quote that never closes")
                        }
                        valueEnd = close
                        index = close + 1
                    } else {
                        valueStart = index
                        while index < bytes.count, ![";", ":", ",", "\""].contains(Unicode.Scalar(bytes[index])) { index += 1 }
                        valueEnd = index
                    }
                    values.append(Self.decodeCaret(String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self)))
                } while index < bytes.count && bytes[index] == UInt8(ascii: ",")
            }
            guard index < bytes.count else {
                throw .malformedLine(line, "\(name) ends inside its parameters; the ':' and the value are missing")
            }
            guard bytes[index] == UInt8(ascii: ";") || bytes[index] == UInt8(ascii: ":") else {
                throw .malformedLine(line, "the parameter \(parameterName) of \(name) is followed by \(describe(index)) where ':' or ';' belongs")
            }
            parameters.append(Parameter(name: parameterName, values: values))
        }
        value = String(decoding: bytes[(index + 1)...], as: UTF8.self)
        self.line = line
    }

    /// Undoes RFC 6868's parameter escapes: `^n` newline, `^'` double quote, `^^` caret.
    static func decodeCaret(_ text: String) -> String {
        guard text.contains("^") else { return text }
        var out = ""
        var iterator = text.unicodeScalars.makeIterator()
        while let scalar = iterator.next() {
            guard scalar == "^" else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch iterator.next() {
            case "n": out += "\n"
            case "'": out += "\""
            case "^": out += "^"
            case let other?: out += "^" + String(other)
            case nil: out += "^"
            }
        }
        return out
    }

    /// Undoes text escaping (RFC 6350 §3.4): `\n` or `\N` is a newline, and a backslash before
    /// any other character stands for that character (`\\`, `\,`, `\;`, and the `\:` some
    /// writers emit). A final lone backslash is kept.
    static func unescapeText(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "\\")) else { return text }
        // A backslash is ASCII, so the character after it starts at the next byte; copying
        // bytes keeps any multi-byte character that follows whole.
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        var escaped = false
        for byte in text.utf8 {
            if escaped {
                out.append(byte == UInt8(ascii: "n") || byte == UInt8(ascii: "N") ? UInt8(ascii: "\n") : byte)
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else {
                out.append(byte)
            }
        }
        if escaped { out.append(UInt8(ascii: "\\")) }
        return String(decoding: out, as: UTF8.self)
    }
}
