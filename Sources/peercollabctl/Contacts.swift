import ArgumentParser
import DBus
import PeerCollabAPI

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
        let contacts = try await People.fetch(client).compactMap(\.contact)
        if options.json {
            print(ManagedObjects.jsonArray(contacts))
            return
        }
        guard !contacts.isEmpty else {
            print("No contacts yet. Import someone's card with 'peercollabctl contact add FILE', or add someone near with 'peercollabctl contact add-peer PERSON'.")
            return
        }
        func text(_ contact: ManagedObjects.Entry, _ property: ContactProperty) -> String { contact.properties[property.rawValue]?.stringValue ?? "" }
        func flag(_ contact: ManagedObjects.Entry, _ property: ContactProperty) -> String { contact.properties[property.rawValue]?.boolValue == true ? "yes" : "no" }
        let rows = [["NAME", "ONLINE", "PRESENCE", "VERIFIED", "PEER NAME"]]
            + contacts.map { contact in
                let name = text(contact, .nickname).isEmpty ? text(contact, .displayName) : text(contact, .nickname)
                return [name.isEmpty ? "?" : name, flag(contact, .online), text(contact, .presenceStatus), flag(contact, .verified), text(contact, .peerName)]
            }
        TextTable.printRows(rows)
    }
}
