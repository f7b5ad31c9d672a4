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
            if options.json { print(JSONText.object([("Id", .string(id)), ("Size", .uint32(UInt32(data.count)))])) }
        }
    }

    /// `object get PEER ID [--output F]`.
    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fetch a peer's object (to standard output, or to a file with --output).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The peer: its peer name, display name or object path (see 'peercollabctl near').") var peer: String
        @Argument(help: "The object id.") var id: String
        @Option(name: .shortAndLong, help: ArgumentHelp("Write the data to this file.", valueName: "file")) var output: String?

        func run() async throws {
            let client = try DaemonClient(options: options)
            let path = try await Objects.peerPath(peer, client)
            let reply = try await client.call(path: path, interface: DaemonClient.peer, member: "GetObject", [.string(id)])
            let data = reply.first?.bytesValue ?? []
            if let output {
                try Objects.write(data, to: output)
            } else if options.json {
                print(JSONText.object([("Id", .string(id)), ("Data", .bytes(data))]))
            } else {
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
        }
    }

    /// `object list [PEER]`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the objects you publish, or those a peer publishes.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "The peer (default: yourself).") var peer: String?

        func run() async throws {
            let client = try DaemonClient(options: options)
            let ids: [String]
            if let peer {
                let path = try await Objects.peerPath(peer, client)
                ids = try await client.properties(of: DaemonClient.peer, at: path)["Objects"]?.stringArrayValue ?? []
            } else {
                ids = try await client.properties(of: DaemonClient.manager)["Objects"]?.stringArrayValue ?? []
            }
            if options.json {
                print(JSONText.encode(.strings(ids)))
            } else {
                for id in ids { print(id) }
            }
        }
    }

    /// A peer named by object path, peer name or (unique) display name.
    static func peerPath(_ text: String, _ client: DaemonClient) async throws -> DBusObjectPath {
        let peers = try await PeerList.fetch(client)
        if let match = peers.first(where: { $0.path.rawValue == text || $0.peerName == text }) { return match.path }
        let named = peers.filter { $0.displayName == text }
        guard named.count == 1 else {
            DaemonClient.fail(named.isEmpty
                ? "No peer '\(text)' is connected; 'peercollabctl near' lists them."
                : "\(named.count) peers are called '\(text)'; give the peer name instead.")
            throw ExitStatus.refused
        }
        return named[0].path
    }

    /// At most 64 KiB and one byte, so an oversized file is refused by the daemon with its
    /// message rather than read whole.
    static func read(_ file: String) throws -> [UInt8] {
        let fd = file == "-" ? 0 : open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            DaemonClient.fail("Cannot open \(file): \(String(cString: strerror(errno)))")
            throw ExitCode.validationFailure
        }
        defer { if fd != 0 { close(fd) } }
        let limit = APIValues.maximumObjectBytes + 1
        var data = [UInt8](repeating: 0, count: limit)
        var total = 0
        while total < limit {
            let count = data.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, limit - total) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                DaemonClient.fail("Cannot read \(file): \(String(cString: strerror(errno)))")
                throw ExitCode.validationFailure
            }
            if count == 0 { break }
            total += count
        }
        return Array(data[0..<total])
    }

    static func write(_ data: [UInt8], to file: String?) throws {
        let fd = file.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? 1
        guard fd >= 0 else {
            DaemonClient.fail("Cannot write \(file ?? "-"): \(String(cString: strerror(errno)))")
            throw ExitStatus.refused
        }
        defer { if fd != 1 { close(fd) } }
        var offset = 0
        while offset < data.count {
            let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else {
                DaemonClient.fail("Cannot write \(file ?? "-"): \(String(cString: strerror(errno)))")
                throw ExitStatus.refused
            }
            offset += written
        }
    }
}
