import Collaboration
import FoundationEssentials

/// The port chosen once when the default one was taken, kept in the data folder
/// (`listen-port`), so that later starts listen on the same one and contact cards, links
/// and firewall rules made since stay right. `--port` overrides it; removing the file goes
/// back to the default.
struct KeptPort: Sendable {
    static let fileName = "listen-port"
    let path: String

    init(dataDirectory: String) {
        path = dataDirectory + "/" + Self.fileName
    }

    /// The kept port, if the file holds one (anything else in it is ignored).
    func read() -> Int? {
        guard case .contents(let data) = BoundedFile.read(path, limit: 64),
            let port = Int(String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace }),
            (1...65535).contains(port)
        else { return nil }
        return port
    }

    func write(_ port: Int) throws {
        try AtomicFile.write(Data("\(port)\n".utf8), to: URL(filePath: path), mode: 0o600)
    }
}
