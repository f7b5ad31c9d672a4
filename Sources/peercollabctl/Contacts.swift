import ArgumentParser
import DBus

/// `peercollabctl contacts`: the contact list.
struct Contacts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List your contacts.",
        discussion: """
            A contact pins a key: the peer name is derived from it. VERIFIED says whether the \
            key came with a card you imported or you compared the verification code \
            ('peercollabctl contact verify').
            """)

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let client = try DaemonClient(options: options)
        let contacts = try await ContactsList.fetch(client)
        if options.json {
            print("[" + contacts.map(ContactsList.json).joined(separator: ",") + "]")
            return
        }
        guard !contacts.isEmpty else {
            print("No contacts yet. Import someone's card with 'peercollabctl contact add FILE'.")
            return
        }
        let rows = [["NAME", "ONLINE", "PRESENCE", "VERIFIED", "PEER NAME"]]
            + contacts.map { [$0.shownName.isEmpty ? "?" : $0.shownName, $0.online ? "yes" : "no", $0.presence, $0.verified ? "yes" : "no", $0.peerName] }
        TextTable.printRows(rows)
    }
}
