/// Standard base64 (RFC 4648 §4, with padding) for the certificate in a card's `KEY`.
///
/// Decoding is strict on purpose: one byte string has exactly one accepted text, so a card
/// cannot smuggle bytes in whitespace, missing padding or non-zero trailing bits.
enum ContactCardBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out.append(alphabet[Int(chunk >> 18 & 0x3F)])
            out.append(alphabet[Int(chunk >> 12 & 0x3F)])
            out.append(alphabet[Int(chunk >> 6 & 0x3F)])
            out.append(alphabet[Int(chunk & 0x3F)])
            index += 3
        }
        switch bytes.count - index {
        case 1:
            let chunk = UInt32(bytes[index]) << 16
            out += [alphabet[Int(chunk >> 18 & 0x3F)], alphabet[Int(chunk >> 12 & 0x3F)], UInt8(ascii: "="), UInt8(ascii: "=")]
        case 2:
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            out += [alphabet[Int(chunk >> 18 & 0x3F)], alphabet[Int(chunk >> 12 & 0x3F)], alphabet[Int(chunk >> 6 & 0x3F)], UInt8(ascii: "=")]
        default:
            break
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Why a text is not canonical base64, for the error message.
    enum Failure: Error, Equatable {
        case length(Int)
        case character(Unicode.Scalar, offset: Int)
        case padding
        case trailingBits
    }

    static func decode(_ text: Substring) -> Result<[UInt8], Failure> {
        let input = Array(text.utf8)
        guard !input.isEmpty, input.count % 4 == 0 else { return .failure(.length(input.count)) }
        var padding = 0
        if input[input.count - 1] == UInt8(ascii: "=") {
            padding = input[input.count - 2] == UInt8(ascii: "=") ? 2 : 1
        }
        var out = [UInt8]()
        out.reserveCapacity(input.count / 4 * 3)
        var chunk: UInt32 = 0
        for (offset, byte) in input.enumerated() {
            let isPadding = offset >= input.count - padding
            let value: UInt8
            if isPadding {
                value = 0
            } else {
                value = values[Int(byte)]
                guard value != 0xFF else {
                    // Report the character itself, not a UTF-8 byte of it.
                    let scalar = text.unicodeScalars.first { !$0.isASCII || values[Int($0.value)] == 0xFF } ?? "?"
                    return .failure(byte == UInt8(ascii: "=") ? .padding : .character(scalar, offset: offset))
                }
            }
            chunk = chunk << 6 | UInt32(value)
            if offset % 4 == 3 {
                out.append(UInt8(chunk >> 16 & 0xFF))
                out.append(UInt8(chunk >> 8 & 0xFF))
                out.append(UInt8(chunk & 0xFF))
                chunk = 0
            }
        }
        // The bits under the padding must be zero, or two texts would decode to the same bytes.
        let last = input.count - padding - 1
        if padding == 1, values[Int(input[last])] & 0x03 != 0 { return .failure(.trailingBits) }
        if padding == 2, values[Int(input[last])] & 0x0F != 0 { return .failure(.trailingBits) }
        out.removeLast(padding)
        return .success(out)
    }
}
