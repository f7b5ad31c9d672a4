import ArgumentParser
import DBus

#if canImport(Glibc)
import Glibc
#endif

/// `peercollabctl contact …`: one contact at a time.
struct ContactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contact",
        abstract: "Add, show, verify, rename, allow or remove a contact.",
        discussion: """
            CONTACT is a peer name, its first characters (at least 4, when only one contact \
            starts so), or a nickname or display name that only one contact has.
            """,
        subcommands: [
            Add.self, Show.self, Remove.self, Verify.self, Nick.self, Allow.self, Deny.self, Subscribe.self,
            Unsubscribe.self,
        ])

    /// Reads a card from a file or, for "-", standard input (at most 64 KiB plus one byte, so
    /// that the daemon can say the card is too large).
    static func readCard(_ path: String) throws -> String {
        let limit = 65_537
        let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            DaemonClient.fail("Cannot read \(path): \(String(cString: strerror(errno)))")
            throw ExitCode.failure
        }
        defer { if fd != 0 { close(fd) } }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while bytes.count < limit {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                DaemonClient.fail("Cannot read \(path): \(String(cString: strerror(errno)))")
                throw ExitCode.failure
            }
            if count == 0 { break }
            bytes += buffer.prefix(count)
        }
        return String(decoding: bytes.prefix(limit), as: UTF8.self)
    }

    /// Adds a card and prints the new contact.
    static func add(cardAt path: String, options: GlobalOptions) async throws {
        let card = try readCard(path)
        let client = try DaemonClient(options: options)
        let reply = try await client.call(path: DaemonClient.root, interface: DaemonClient.manager, member: "AddContact", [.string(card)])
        guard let contactPath = reply.first?.objectPathValue else { throw ExitStatus.refused }
        let properties = try await client.properties(of: DaemonClient.contact, at: contactPath)
        if options.json {
            print(JSONText.object([("Path", .objectPath(contactPath))] + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))
        } else {
            print("Added \(properties["DisplayName"]?.stringValue ?? "?") (\(properties["PeerName"]?.stringValue ?? "")), verified.")
        }
    }

    /// Finds the contact the user named.
    static func find(_ name: String, _ client: DaemonClient) async throws -> ContactsList.Entry {
        try ContactsList.resolve(name, in: try await ContactsList.fetch(client))
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import someone's contact card (a .vcf file, or - for standard input); the contact is verified.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The card file, or - to read it from standard input.", valueName: "file"))
        var file: String

        func run() async throws { try await ContactCommand.add(cardAt: file, options: options) }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show everything about one contact.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact")) var contact: String

        func run() async throws {
            let client = try DaemonClient(options: options)
            let entry = try await ContactCommand.find(contact, client)
            if options.json {
                print(ContactsList.json(entry))
                return
            }
            TextTable.printProperties(entry.properties, [
                ("DisplayName", "Name"), ("Nickname", "Nickname"), ("PeerName", "Peer name"), ("Email", "Email"),
                ("Verified", "Verified"), ("VerificationCode", "Verification code"), ("Fingerprint", "Fingerprint"),
                ("Online", "Online"), ("PresenceStatus", "Presence"), ("PresenceMessage", "Message"),
                ("SubscribeAllowed", "May see me"), ("Subscribed", "Following"), ("Endpoints", "Endpoints"),
                ("Applications", "Applications"), ("Objects", "Objects"),
            ])
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a contact (its key is no longer pinned).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact")) var contact: String

        func run() async throws {
            let client = try DaemonClient(options: options)
            let entry = try await ContactCommand.find(contact, client)
            _ = try await client.call(path: entry.path, interface: DaemonClient.contact, member: "Remove")
            if !options.json { print("Removed \(entry.shownName) (\(entry.peerName)).") }
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
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact")) var contact: String
        @Flag(help: "Do not ask; mark the contact verified (for scripts that compared the code themselves).")
        var yes = false

        func run() async throws {
            let client = try DaemonClient(options: options)
            let entry = try await ContactCommand.find(contact, client)
            print("Contact:            \(entry.shownName) (\(entry.peerName))")
            print("Verification code:  \(entry.verificationCode)   (for the pinned key)")
            if let peerPath = entry.properties["Peer"]?.objectPathValue, peerPath != DBusObjectPath.root,
                let live = try? await client.properties(of: DaemonClient.peer, at: peerPath)["VerificationCode"]?.stringValue
            {
                print("Connected now:      \(live)   (for the key of the connection; the two must be equal)")
            }
            if !yes {
                guard isatty(0) != 0 else {
                    DaemonClient.fail("Not a terminal: compare the code and pass --yes to mark the contact verified.")
                    throw ExitStatus.refused
                }
                print("Does \(entry.shownName) see the same code? [y/N] ", terminator: "")
                let answer = readLine()?.lowercased() ?? ""
                guard answer == "y" || answer == "yes" else {
                    print("Not marked verified.")
                    return
                }
            }
            try await client.setProperty("Verified", .boolean(true), of: DaemonClient.contact, at: entry.path)
            print("\(entry.shownName) is verified.")
        }
    }

    struct Nick: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a contact a nickname of your own (\"\" removes it).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact")) var contact: String
        @Argument(help: ArgumentHelp("The nickname.", valueName: "name")) var name: String

        func run() async throws {
            let client = try DaemonClient(options: options)
            let entry = try await ContactCommand.find(contact, client)
            try await client.setProperty("Nickname", .string(name), of: DaemonClient.contact, at: entry.path)
        }
    }

    /// Sets one boolean property of the named contact.
    static func set(_ property: String, _ value: Bool, contact: String, options: GlobalOptions, done: String) async throws {
        let client = try DaemonClient(options: options)
        let entry = try await find(contact, client)
        try await client.setProperty(property, .boolean(value), of: DaemonClient.contact, at: entry.path)
        if !options.json { print("\(entry.shownName) \(done).") }
    }

    struct Allow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a contact see your presence and objects over the internet.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact")) var contact: String
        func run() async throws {
            try await ContactCommand.set("SubscribeAllowed", true, contact: contact, options: options, done: "may see your presence")
        }
    }

    struct Deny: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a contact from seeing your presence and objects over the internet.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact")) var contact: String
        func run() async throws {
            try await ContactCommand.set("SubscribeAllowed", false, contact: contact, options: options, done: "may no longer see your presence")
        }
    }

    struct Subscribe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow a contact's presence and objects.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact")) var contact: String
        func run() async throws {
            try await ContactCommand.set("Subscribed", true, contact: contact, options: options, done: "is followed")
        }
    }

    struct Unsubscribe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop following a contact's presence and objects.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The contact.", valueName: "contact")) var contact: String
        func run() async throws {
            try await ContactCommand.set("Subscribed", false, contact: contact, options: options, done: "is no longer followed")
        }
    }
}
