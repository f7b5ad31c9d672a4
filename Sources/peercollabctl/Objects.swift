import ArgumentParser
import PeerCollabAPI
import DBus

#if canImport(Glibc)
import Glibc
#endif

/// `peercollabctl object set|get|delete|list`: data objects I publish and peers' objects.
struct Objects: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "object",
        abstract: "Publish data objects (an avatar, a board's summary) and fetch peers' objects.",
        discussion: """
            Up to \(APIValues.maximumObjects) objects of at most 64 KiB each; ids are 1 to \
            \(APIValues.maximumObjectIDBytes) bytes of A-Z, a-z, 0-9, '.', '_' and '-'. \
            Peers near you always see them; contacts over the internet when you allow them and \
            they subscribe.
            """,
        subcommands: [Set.self, Get.self, Delete.self, List.self])

    /// `object set ID FILE|-`.
    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish (or replace) an object from a file, or from standard input with -.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The object id.") var id: String
        @Argument(help: "The file with its data, or - for standard input.") var file: String

        func run() async throws {
            let data = try Objects.read(file)
            let client = try DaemonClient(options: options)
            _ = try await client.call(path: DaemonClient.root, interface: DaemonClient.manager, member: "SetObject", [.string(id), .bytes(data)])
            if options.json { print(try await client.managerJSON()) }
        }
    }

    /// `object get PEER ID [--output F]`.
    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fetch a peer's object (to standard output, or to a file with --output).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("Who: a peer name, nickname, display name or object path of someone connected.", valueName: "person"), completion: .people)
        var peer: String
        @Argument(help: "The object id.") var id: String
        @Option(name: .shortAndLong, help: ArgumentHelp("Write the data to this file.", valueName: "file")) var output: String?

        func run() async throws {
            let client = try DaemonClient(options: options)
            let path = try await Objects.peerPath(peer, client)
            let reply = try await client.call(path: path, interface: DaemonClient.peer, member: "GetObject", [.string(id)])
            let data = reply.first?.bytesValue ?? []
            if let output { try Objects.write(data, to: output) }
            if options.json {
                print(JSONText.object([("Id", .string(id)), ("Size", .uint32(UInt32(data.count))), ("Data", .bytes(data))]))
            } else if output == nil {
                try Objects.write(data, to: nil)
            }
        }
    }

    /// `object delete ID`.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop publishing an object.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The object id.") var id: String

        func run() async throws {
            let client = try DaemonClient(options: options)
            _ = try await client.call(path: DaemonClient.root, interface: DaemonClient.manager, member: "DeleteObject", [.string(id)])
            if options.json { print(try await client.managerJSON()) }
        }
    }

    /// `object list [PEER]`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the objects you publish, or those a peer publishes.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("Who (default: yourself).", valueName: "person"), completion: .people) var peer: String?

        func run() async throws {
            let client = try DaemonClient(options: options)
            var path = DaemonClient.root
            if let peer { path = try await Objects.peerPath(peer, client) }
            let properties = try await client.properties(of: peer == nil ? DaemonClient.manager : DaemonClient.peer, at: path)
            let ids = properties[PeerProperty.objects.rawValue]?.stringArrayValue ?? []
            if options.json {
                // The Manager shape for mine, the Peer shape for a peer's.
                print(try await ManagedObjects.json(path, properties, client))
            } else {
                for id in ids { print(id) }
            }
        }
    }

    /// The Peer object of someone connected, named as every verb names people.
    static func peerPath(_ text: String, _ client: DaemonClient) async throws -> DBusObjectPath {
        try await People.resolve(text, need: .peer, client).peer!.path
    }

    /// At most 64 KiB and one byte, so an oversized file is refused by the daemon with its
    /// message rather than read whole.
    static func read(_ file: String) throws -> [UInt8] { try DataFile.read(file) }

    static func write(_ data: [UInt8], to file: String?) throws {
        let fd = file.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? 1
        guard fd >= 0 else {
            throw Failure.file("Cannot write \(file ?? "-"): \(String(cString: strerror(errno)))")
        }
        defer { if fd != 1 { close(fd) } }
        var offset = 0
        while offset < data.count {
            let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else {
                throw Failure.file("Cannot write \(file ?? "-"): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }
}
