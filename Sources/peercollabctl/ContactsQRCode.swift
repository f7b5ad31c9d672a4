import CQRencode

/// A QR code made by libqrencode, drawn with Unicode half blocks: two rows of modules per
/// line of text, as `qrencode -t UTF8` does, so it fits a terminal and a camera reads it.
struct QRCode {
    /// Modules row by row; true is dark.
    let modules: [[Bool]]

    /// Encodes `text` as bytes with error correction M; nil if it does not fit a QR code.
    init?(text: String) {
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let data = code.pointee.data!
        // Bit 0 of each byte is the module's colour (1: dark); the others are libqrencode's bookkeeping.
        modules = (0..<width).map { row in (0..<width).map { column in data[row * width + column] & 1 == 1 } }
    }

    /// The code with a quiet zone of 2 modules, light modules drawn (light text on a dark
    /// terminal), dark ones left blank.
    func terminalText() -> String {
        let quiet = 2
        let width = modules.count + 2 * quiet
        func dark(_ row: Int, _ column: Int) -> Bool {
            let r = row - quiet
            let c = column - quiet
            guard r >= 0, c >= 0, r < modules.count, c < modules.count else { return false }
            return modules[r][c]
        }
        var out = ""
        var row = 0
        while row < width {
            for column in 0..<width {
                let top = !dark(row, column)
                let bottom = row + 1 < width ? !dark(row + 1, column) : false
                switch (top, bottom) {
                case (true, true): out += "█"
                case (true, false): out += "▀"
                case (false, true): out += "▄"
                case (false, false): out += " "
                }
            }
            out += "\n"
            row += 2
        }
        return out
    }
}
