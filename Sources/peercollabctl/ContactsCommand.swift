import ArgumentParser
import DBus
import PeerCollabAPI

#if canImport(Glibc)
import Glibc
#endif

/// `peercollabctl contact …`: one contact at a time.
struct ContactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact",
        abstract: "Add, show, verify, rename, allow, follow or remove a contact, and its endpoints.",
        discussion: """
            CONTACT is a peer name or its first 4 characters or more, a nickname, a display name \
            or its start (any case), or an object path; a name matching several contacts lists them.
            """,
        subcommands: [
            Add.self, AddPeer.self, Show.self, CardOf.self, Remove.self, Verify.self, Unverify.self, Nick.self, Allow.self,
            Deny.self, Subscribe.self, Unsubscribe.self, Endpoint.self,
        ])

    /// Reads a card from a file or, for "-", standard input (at most 64 KiB plus one byte, so
    /// that the daemon can say the card is too large).
    static func readCard(_ path: String) throws -> String {
        String(decoding: try InputFile.read(path, limit: 65_537), as: UTF8.self)
    }

    /// Adds a card and prints the new contact.
    static func add(cardAt path: String, options: GlobalOptions) async throws {
        let card = try readCard(path)
        let client = try DaemonClient(options: options)
        let reply = try await client.call(path: DaemonClient.root, interface: DaemonClient.manager, member: "AddContact", [.string(card)])
        guard let contactPath = reply.first?.objectPathValue else { throw Failure.refused(Failure.Name.failed, "The daemon gave no contact.") }
        let properties = try await client.properties(of: DaemonClient.contact, at: contactPath)
        if options.json {
            print(ManagedObjects.json(contactPath, properties))
        } else {
            print("Added \(properties[ContactProperty.displayName.rawValue]?.stringValue ?? "?") (\(properties[ContactProperty.peerName.rawValue]?.stringValue ?? "")), verified.")
        }
    }

    /// Finds the contact the user named.
    static func find(_ name: String, _ client: DaemonClient) async throws -> (person: Person, contact: ManagedObjects.Entry) {
        let person = try await People.resolve(name, need: .contact, client)
        return (person, person.contact!)
    }

    /// Prints a contact as it is now: the Contact shape with --json, else `text`.
    static func report(_ path: DBusObjectPath, _ client: DaemonClient, _ options: GlobalOptions, _ text: String?) async throws {
        if options.json {
            print(try await client.objectJSON(path, DaemonClient.contact))
        } else if let text {
            print(text)
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import someone's contact card (a .vcf file, or - for standard input); the contact is verified.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The card file, or - to read it from standard input.", valueName: "file"), completion: .file(extensions: ["vcf"]))
        var file: String

        func run() async throws { try await ContactCommand.add(cardAt: file, options: options) }
    }

    struct AddPeer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-peer",
            abstract: "Add someone connected now (near you) as a contact: Windows' \"Add to contacts\".",
            discussion: """
                The key the peer proved is pinned, unverified: compare the verification code with \
                them and run 'peercollabctl contact verify'. They may not see your presence over \
                the internet until you 'contact allow' them.
                """)
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("Who: a peer name, display name or object path of someone connected.", valueName: "person"), completion: .people)
        var person: String

        func run() async throws {
            let client = try DaemonClient(options: options)
            let found = try await People.resolve(person, need: .peer, client)
            let reply = try await client.call(path: found.peer!.path, interface: DaemonClient.peer, member: "AddToContacts")
            guard let path = reply.first?.objectPathValue else { throw Failure.refused(Failure.Name.failed, "The daemon gave no contact.") }
            let code = found.peer?.properties[PeerProperty.verificationCode.rawValue]?.stringValue ?? ""
            try await ContactCommand.report(path, client, options, """
                Added \(found.displayName.isEmpty ? "?" : found.displayName) (\(found.peerName)), not verified.
                Compare this code with them: \(code); then run 'peercollabctl contact verify \(found.peerName)'.
                """)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show everything about one contact.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String

        func run() async throws {
            let client = try DaemonClient(options: options)
            let entry = try await ContactCommand.find(contact, client).contact
            if options.json {
                print(ManagedObjects.json(entry))
                return
            }
            let rows: [(ContactProperty, String)] = [
                (.displayName, "Name"), (.nickname, "Nickname"), (.peerName, "Peer name"), (.email, "Email"),
                (.verified, "Verified"), (.verificationCode, "Verification code"), (.fingerprint, "Fingerprint"),
                (.online, "Online"), (.presenceStatus, "Presence"), (.presenceMessage, "Message"),
                (.subscribeAllowed, "May see me"), (.subscribed, "Following"), (.endpoints, "Endpoints"),
                (.applications, "Applications"), (.objects, "Objects"),
            ]
            TextTable.printProperties(entry.properties, rows.map { ($0.0.rawValue, $0.1) })
        }
    }

    struct CardOf: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "card",
            abstract: "Print a contact's card as you know it (vCard 4.0 with the pinned certificate), to pass on.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String
        @Option(name: .shortAndLong, help: ArgumentHelp("Write the card to this file instead of standard output.", valueName: "file"))
        var output: String?

        func run() async throws {
            let client = try DaemonClient(options: options)
            let found = try await ContactCommand.find(contact, client)
            let card = try await client.call(path: found.contact.path, interface: DaemonClient.contact, member: "GetCard").first?.stringValue ?? ""
            try CardExport.emit(CardExport.json(peerName: found.person.peerName, card: card, links: []), text: card, options: options, to: output)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a contact (its key is no longer pinned).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String

        func run() async throws {
            let client = try DaemonClient(options: options)
            let (person, entry) = try await ContactCommand.find(contact, client)
            _ = try await client.call(path: entry.path, interface: DaemonClient.contact, member: "Remove")
            // The contact is gone: what it was is all there is to show.
            print(options.json ? ManagedObjects.json(entry) : "Removed \(person.shownName) (\(person.peerName)).")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the verification code with the contact, then mark the contact verified.",
            discussion: """
                Both of you see the same six digits for your two keys: the contact runs \
                'peercollabctl contact show' (or looks at the peer) and reads theirs aloud. \
                If they differ, someone is in between: answer n.
                """)
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String
        @Flag(help: "Do not ask; mark the contact verified (for scripts that compared the code themselves).")
        var yes = false

        func run() async throws {
            let client = try DaemonClient(options: options)
            let (person, entry) = try await ContactCommand.find(contact, client)
            let code = entry.properties[ContactProperty.verificationCode.rawValue]?.stringValue ?? ""
            if !yes {
                guard isatty(0) != 0 else {
                    throw Failure.refused(Failure.Name.failed, "Not a terminal: compare the code (\(code)) and pass --yes to mark the contact verified.")
                }
            }
            if !options.json {
                print("Contact:            \(person.shownName) (\(person.peerName))")
                print("Verification code:  \(code)   (for the pinned key)")
                if let live = person.peer?.properties[PeerProperty.verificationCode.rawValue]?.stringValue {
                    print("Connected now:      \(live)   (for the key of the connection; the two must be equal)")
                }
            }
            if !yes {
                // With --json, stdout is for the answer only: the question goes to the terminal on stderr.
                let question = "Does \(person.shownName) see the same code (\(code))? [y/N] "
                if options.json {
                    var standardError = StandardError()
                    print(question, terminator: "", to: &standardError)
                } else {
                    print(question, terminator: "")
                }
                let answer = readLine()?.lowercased() ?? ""
                guard answer == "y" || answer == "yes" else {
                    try await ContactCommand.report(entry.path, client, options, "Not marked verified.")
                    return
                }
            }
            try await client.setProperty(ContactProperty.verified.rawValue, .boolean(true), of: DaemonClient.contact, at: entry.path)
            try await ContactCommand.report(entry.path, client, options, "\(person.shownName) is verified.")
        }
    }

    struct Unverify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a contact not verified (until you compare the code again).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String
        func run() async throws {
            try await ContactCommand.set(.verified, false, contact: contact, options: options, done: "is no longer verified")
        }
    }

    struct Nick: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a contact a nickname of your own (\"\" removes it).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String
        @Argument(help: ArgumentHelp("The nickname.", valueName: "name")) var name: String

        func run() async throws {
            let client = try DaemonClient(options: options)
            let (person, entry) = try await ContactCommand.find(contact, client)
            try await client.setProperty(ContactProperty.nickname.rawValue, .string(name), of: DaemonClient.contact, at: entry.path)
            try await ContactCommand.report(entry.path, client, options,
                name.isEmpty ? "\(person.displayName) has no nickname now." : "\(person.displayName) is \(name) to you now.")
        }
    }

    /// Sets one boolean property of the named contact.
    static func set(_ property: ContactProperty, _ value: Bool, contact: String, options: GlobalOptions, done: String) async throws {
        let client = try DaemonClient(options: options)
        let (person, entry) = try await find(contact, client)
        try await client.setProperty(property.rawValue, .boolean(value), of: DaemonClient.contact, at: entry.path)
        try await report(entry.path, client, options, "\(person.shownName) \(done).")
    }

    struct Allow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a contact see your presence and objects over the internet.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String
        func run() async throws {
            try await ContactCommand.set(.subscribeAllowed, true, contact: contact, options: options, done: "may see your presence")
        }
    }

    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a contact from seeing your presence and objects over the internet.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String
        func run() async throws {
            try await ContactCommand.set(.subscribeAllowed, false, contact: contact, options: options, done: "may no longer see your presence")
        }
    }

    struct Subscribe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow a contact's presence and objects.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String
        func run() async throws {
            try await ContactCommand.set(.subscribed, true, contact: contact, options: options, done: "is followed")
        }
    }

    struct Unsubscribe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop following a contact's presence and objects.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String
        func run() async throws {
            try await ContactCommand.set(.subscribed, false, contact: contact, options: options, done: "is no longer followed")
        }
    }
}
