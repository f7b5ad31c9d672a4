import ArgumentParser
import DBus
import PeerCollabAPI

extension ContactCommand {
    /// `peercollabctl contact endpoint add|remove|list`: where the internet scope dials a contact.
    struct Endpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, add or remove the addresses where the internet scope dials a contact.",
            subcommands: [List.self, Add.self, Remove.self],
            defaultSubcommand: List.self)

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List a contact's endpoints, one HOST:PORT a line.")
            @OptionGroup var options: GlobalOptions
            @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String

            func run() async throws {
                let client = try DaemonClient(options: options)
                let entry = try await ContactCommand.find(contact, client).contact
                if options.json {
                    print(ManagedObjects.json(entry))
                    return
                }
                for item in entry.properties[ContactProperty.endpoints.rawValue]?.arrayElements ?? [] {
                    guard let fields = item.structureFields, fields.count == 2, let host = fields[0].stringValue,
                        let port = fields[1].uint16Value
                    else { continue }
                    print(TextTable.endpoint(host, port))
                }
            }
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add an address to dial (IPv4, IPv6 or host name, and port).")
            @OptionGroup var options: GlobalOptions
            @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String
            @Argument(help: "The host: an IPv4 or IPv6 address or a host name.") var host: String
            @Argument(help: "The port, 1–65535.") var port: UInt16

            func run() async throws {
                try await Endpoint.change("AddEndpoint", contact, host, port, options, done: "will be dialled at")
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove an address from a contact's endpoints.")
            @OptionGroup var options: GlobalOptions
            @Argument(help: ArgumentHelp("The contact.", valueName: "contact"), completion: .contacts) var contact: String
            @Argument(help: "The host, as listed.") var host: String
            @Argument(help: "The port, as listed.") var port: UInt16

            func run() async throws {
                try await Endpoint.change("RemoveEndpoint", contact, host, port, options, done: "is no longer dialled at")
            }
        }

        static func change(_ member: String, _ contact: String, _ host: String, _ port: UInt16, _ options: GlobalOptions, done: String) async throws {
            let client = try DaemonClient(options: options)
            let (person, entry) = try await ContactCommand.find(contact, client)
            _ = try await client.call(path: entry.path, interface: DaemonClient.contact, member: member, [.string(host), .uint16(port)])
            try await ContactCommand.report(entry.path, client, options, "\(person.shownName) \(done) \(TextTable.endpoint(host, port)).")
        }
    }
}

/// A file named on the command line (or `-` for standard input), read up to a limit: one
/// byte more than the daemon takes, so that an over-long file is refused by the daemon with
/// its message and status, the same as any other over-long value.
enum InputFile {
    static func read(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure.file("Cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { if fd != 0 { close(fd) } }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while bytes.count < limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, limit - bytes.count)) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw Failure.file("Cannot read \(path): \(String(cString: strerror(errno)))") }
            if count == 0 { break }
            bytes += buffer.prefix(count)
        }
        return bytes
    }
}

#if canImport(Glibc)
import Glibc
#endif
