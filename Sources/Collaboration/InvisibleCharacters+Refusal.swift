extension InvisibleCharacters {
    /// Throws `InvalidArgument` naming the first invisible character of `text` and where it
    /// is. Apart from InvisibleCharacters.swift, which the card fuzzer compiles on its own.
    static func refuse(in text: String, what: String) throws {
        guard let (scalar, position) = first(in: text) else { return }
        throw CollaborationError.invalidArgument(
            "The \(what) contains the invisible formatting character \(scalar.codePointDescription) at position \(position) (counting code points from 1), which could hide or reorder what others see; remove it.")
    }
}
