#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension ContactCard {
    /// The media type of the certificate in `KEY` (RFC 2585).
    static let certificateMediaType = "application/pkix-cert"
    /// The extended property holding the peer name.
    static let peerNameProperty = "X-PEERCOLLAB-PEERNAME"
    /// The extended property holding one endpoint.
    static let endpointProperty = "X-PEERCOLLAB-ENDPOINT"

    /// The card as vCard 4.0 text stamped with the current time as its revision.
    public func encode() -> String {
        encode(revision: Date())
    }

    /// The card as vCard 4.0 text: CRLF line endings, lines folded at 75 octets.
    ///
    /// `KEY` holds the certificate as `data:application/pkix-cert;base64\,…`. The comma is
    /// escaped because RFC 6350 §3.4 says every comma in a value is, and python-vobject
    /// (Radicale), sabre/vobject (Nextcloud) and ical.js (Thunderbird) read that form, while
    /// python-vobject cuts an unescaped one off at the comma. The data URI's semicolon stays
    /// as in RFC 6350's own `KEY` example. `init(parsing:)` takes both forms.
    public func encode(revision: Date) -> String {
        var lines = [
            "BEGIN:VCARD",
            "VERSION:4.0",
            "PRODID:-//peercollab//ContactCard 1//EN",
            "UID:urn:peercollab:\(Self.escapeText(peerName))",
            "FN:\(Self.escapeText(displayName))",
            // vCard 4.0 makes N optional, but vCard 3.0 readers and some address books want it.
            "N:;;;;",
        ]
        if let email { lines.append("EMAIL:\(Self.escapeText(email))") }
        lines.append(
            "KEY;MEDIATYPE=\(Self.certificateMediaType):"
                + "data:\(Self.certificateMediaType);base64\\,\(ContactCardBase64.encode(certificateDER))"
        )
        lines.append("\(Self.peerNameProperty):\(Self.escapeText(peerName))")
        for endpoint in endpoints {
            lines.append("\(Self.endpointProperty):\(Self.escapeText(endpoint.description))")
        }
        lines.append("REV:\(Self.timestamp(revision))")
        lines.append("END:VCARD")
        return lines.map(Self.fold).joined()
    }

    /// Escapes a text value (RFC 6350 §3.4): backslash, comma, semicolon and line breaks.
    /// Semicolons are escaped too, as vCard 3.0 and most readers expect.
    static func escapeText(_ text: String) -> String {
        // Every character escaped is ASCII, so working on UTF-8 bytes cannot split a character.
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count + 8)
        var previous: UInt8 = 0
        for byte in text.utf8 {
            defer { previous = byte }
            switch byte {
            case UInt8(ascii: "\\"), UInt8(ascii: ","), UInt8(ascii: ";"): out += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\n"): if previous != UInt8(ascii: "\r") { out += [UInt8(ascii: "\\"), UInt8(ascii: "n")] }
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Folds one content line (RFC 6350 §3.2) into physical lines of at most 75 octets,
    /// each ended by CRLF. A fold never splits a UTF-8 sequence, nor a backslash from the
    /// character it escapes, so even readers that unescape before unfolding read it right.
    static func fold(_ line: String) -> String {
        let limit = 75
        let bytes = Array(line.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count + bytes.count / 24 + 2)
        func sequenceLength(at index: Int) -> Int {
            switch bytes[index] {
            case ..<0xC0: 1
            case ..<0xE0: 2
            case ..<0xF0: 3
            default: 4
            }
        }
        var width = 0
        var index = 0
        while index < bytes.count {
            var end = index + sequenceLength(at: index)
            if bytes[index] == UInt8(ascii: "\\"), end < bytes.count { end += sequenceLength(at: end) }
            end = min(end, bytes.count)
            if width + (end - index) > limit {
                out += [UInt8(ascii: "\r"), UInt8(ascii: "\n"), UInt8(ascii: " ")]
                width = 1
            }
            out += bytes[index..<end]
            width += end - index
            index = end
        }
        out += [UInt8(ascii: "\r"), UInt8(ascii: "\n")]
        return String(decoding: out, as: UTF8.self)
    }

    /// `REV`'s timestamp in UTC, basic ISO 8601 (`20260102T030405Z`), computed here so the
    /// module needs no calendar or formatter.
    static func timestamp(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + "T"
            + pad(secondOfDay / 3_600, 2) + pad(secondOfDay / 60 % 60, 2) + pad(secondOfDay % 60, 2) + "Z"
    }
}
