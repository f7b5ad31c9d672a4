import ArgumentParser
import DBus
import PeerCollabAPI

#if canImport(Glibc)
import Glibc
#endif

/// `peercollabctl card`: my contact card out (export, the default), someone's in (import).
struct Card: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export your contact card or a contact link (also as a QR code), or import someone's card.",
        subcommands: [CardExport.self, CardImport.self],
        defaultSubcommand: CardExport.self)
}

/// `peercollabctl card import FILE|-`: the same as `contact add`.
struct CardImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import someone's contact card (a .vcf file, or - for standard input); the same as 'contact add'.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: ArgumentHelp("The card file, or - to read it from standard input.", valueName: "file"))
    var file: String

    func run() async throws { try await ContactCommand.add(cardAt: file, options: options) }
}

/// `peercollabctl card [export]`: my contact card, to send to someone out of band.
struct CardExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print your contact card (vCard 4.0 with your certificate), or a contact link.",
        discussion: """
            Send the card to someone by mail or chat; once they import it, you are a verified \
            contact for them. --link prints peercollab:PEERNAME@HOST:PORT instead, for when \
            multicast cannot find you: it names your key, so an address is all else it needs.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the card to this file instead of standard output.", valueName: "file"))
    var output: String?

    @Flag(help: "Print contact links (one per endpoint) instead of the card.")
    var link = false

    @Flag(help: "Show a contact link as a QR code in the terminal, for a phone's camera or another screen.")
    var qr = false

    func run() async throws {
        let client = try DaemonClient(options: options)
        let properties = try await client.properties(of: DaemonClient.manager)
        let name = properties[ManagerProperty.peerName.rawValue]?.stringValue ?? ""
        guard link || qr else {
            let card = try await client.call(path: DaemonClient.root, interface: DaemonClient.manager, member: "GetContactCard")
            let vcard = card.first?.stringValue ?? ""
            try Self.emit(Self.json(peerName: name, card: vcard, links: Self.links(name, properties)), text: vcard, options: options, to: output)
            return
        }
        let links = Self.links(name, properties)
        guard !links.isEmpty else {
            throw Failure.refused(Failure.Name.failed, "The daemon has no endpoint where peers can reach it (no network address).")
        }
        var text = links.joined(separator: "\n") + "\n"
        if qr && !options.json {
            // The first address that is not loopback is the one another device can reach.
            let chosen = links.first { !$0.contains("@127.") && !$0.contains("@[::1]") } ?? links[0]
            guard let code = QRCode(text: chosen) else {
                throw Failure.refused(Failure.Name.failed, "The contact link is too long for a QR code.")
            }
            text = code.terminalText() + chosen + "\n"
        }
        try Self.emit(Self.json(peerName: name, card: nil, links: links), text: text, options: options, to: output)
    }

    /// Contact links, one per endpoint: `peercollab:PEERNAME@HOST:PORT`.
    static func links(_ name: String, _ properties: [String: DBusValue]) -> [String] {
        (properties[ManagerProperty.endpoints.rawValue]?.arrayElements ?? []).compactMap { item -> String? in
            guard let fields = item.structureFields, fields.count == 2, let host = fields[0].stringValue,
                let port = fields[1].uint16Value
            else { return nil }
            return "peercollab:\(name)@\(TextTable.endpoint(host, port))"
        }
    }

    /// The Card shape (docs/cli.md): the peer name, the vCard (when asked for) and the links.
    static func json(peerName: String, card: String?, links: [String]) -> String {
        var members: [(String, DBusValue)] = [("PeerName", .string(peerName))]
        if let card { members.append(("Card", .string(card))) }
        members.append(("Links", .strings(links)))
        return JSONText.object(members) + "\n"
    }

    /// Prints `text` (or the JSON with --json) to standard output or a file.
    static func emit(_ json: String, text: String, options: GlobalOptions, to output: String?) throws {
        let chosen = options.json ? json : text
        guard let output else {
            print(chosen, terminator: "")
            return
        }
        try write(chosen, to: output)
    }

    /// Writes the file readable by others (a card is public), replacing it atomically.
    static func write(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Failure.file("Cannot write \(path): \(String(cString: strerror(errno)))")
        }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Failure.file("Cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }
}
