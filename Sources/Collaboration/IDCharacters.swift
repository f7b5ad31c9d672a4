extension UInt8 {
    /// Whether this byte may appear in the ids users and applications choose (object ids,
    /// desktop entry ids): `[A-Za-z0-9._-]`, safe in file names, D-Bus paths and logs.
    var isIDCharacter: Bool {
        switch self {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}
