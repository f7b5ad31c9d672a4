/// The name of the transient unit an invited application runs in, by systemd's convention for
/// desktop applications (systemd.io/DESKTOP_ENVIRONMENTS):
/// `app-peercollab-<ApplicationID>@<RANDOM>.service`, the id escaped as unit names require
/// (`systemd-escape`: `-` becomes `\x2d`, so that the id can be read back out of the name).
enum ApplicationUnitName {
    static let prefix = "app-peercollab-"
    static let suffix = ".service"
    /// systemd's UNIT_NAME_MAX is 256 with the terminating NUL.
    static let maximumLength = 255

    /// A fresh name for one launch of `applicationID`; `random` makes launches distinct.
    static func make(applicationID: String, random: UInt64) -> String {
        var hex = String(random, radix: 16)
        hex = String(repeating: "0", count: 16 - hex.count) + hex
        let room = maximumLength - prefix.count - 1 - hex.count - suffix.count
        return prefix + escape(applicationID, maximumLength: room) + "@" + hex + suffix
    }

    /// A fresh name with a random instance.
    static func make(applicationID: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(applicationID: applicationID, random: generator.next())
    }

    /// `text` escaped as `systemd-escape` does, cut (never inside an escape) to `maximumLength`.
    static func escape(_ text: String, maximumLength: Int = .max) -> String {
        var escaped = ""
        for (index, byte) in text.utf8.enumerated() {
            let piece: String
            switch byte {
            case UInt8(ascii: "/"):
                piece = "-"
            case UInt8(ascii: ".") where index == 0:
                piece = "\\x2e"
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: ":"), UInt8(ascii: "_"), UInt8(ascii: "."):
                piece = String(UnicodeScalar(byte))
            default:
                let hex = String(byte, radix: 16)
                piece = "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
            guard escaped.utf8.count + piece.utf8.count <= maximumLength else { break }
            escaped += piece
        }
        return escaped
    }
}
