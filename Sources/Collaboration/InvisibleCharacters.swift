/// Characters that are not shown but change what is shown: bidirectional embeddings,
/// overrides, isolates and marks (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C),
/// zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and every other format character
/// (Unicode general category Cf, which all of those belong to). In a name they let one
/// peer look like another ("evil\u{202E}gnp.exe" shows as "evilexe.png").
///
/// Refused in names a user sets here; removed from names and presence messages peers send.
public enum InvisibleCharacters {
    public static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true
        case 0x200B...0x200D, 0x2060, 0xFEFF: true
        default: scalar.properties.generalCategory == .format
        }
    }

    /// The first invisible character of `text` and its position, counting code points from 1.
    /// A zero-width joiner inside an emoji sequence (👩‍💻, 🏳️‍🌈) is not one: there it
    /// visibly joins two pictographs into one.
    public static func first(in text: String) -> (scalar: Unicode.Scalar, position: Int)? {
        let scalars = Array(text.unicodeScalars)
        for (offset, scalar) in scalars.enumerated() where isInvisible(scalar) && !joinsEmoji(scalars, at: offset) {
            return (scalar, offset + 1)
        }
        return nil
    }

    static let zeroWidthJoiner: Unicode.Scalar = "\u{200D}"

    /// Whether the scalar at `offset` is a zero-width joiner between two emoji.
    private static func joinsEmoji(_ scalars: [Unicode.Scalar], at offset: Int) -> Bool {
        guard scalars[offset] == zeroWidthJoiner, offset > 0, offset + 1 < scalars.count else { return false }
        var before = offset - 1
        if scalars[before] == "\u{FE0F}", before > 0 { before -= 1 }  // an emoji presentation selector
        return isEmoji(scalars[before]) && isEmoji(scalars[offset + 1])
    }

    private static func isEmoji(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value > 0x7F && scalar.properties.isEmoji
    }

    /// `text` without its invisible characters (joiners inside emoji sequences stay).
    public static func stripped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isInvisible) else { return text }
        let scalars = Array(text.unicodeScalars)
        var kept = String.UnicodeScalarView()
        for (offset, scalar) in scalars.enumerated() where !isInvisible(scalar) || joinsEmoji(scalars, at: offset) {
            kept.append(scalar)
        }
        return String(kept)
    }
}
