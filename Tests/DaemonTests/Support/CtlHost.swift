import DBus
import Foundation
import PeerCollabAPI
import Testing
import TestSupport

/// A daemon on its own private bus, listening on loopback and signed in to the internet
/// scope, driven with peercollabctl: two of them reach each other by contact link without
/// network namespaces (unicast to loopback only).
final class CtlHost: Sendable {
    let bus: PrivateBus
    let client: DBusConnection
    let daemon: DaemonProcess

    /// `settings` is written to its settings.json before it starts.
    init(name: String? = nil, settings: String? = nil, extraArguments: [String] = []) async throws {
        bus = try PrivateBus()
        client = try DBusConnection(bus: .address(bus.address))
        daemon = try DaemonProcess(bus: bus, home: try InvitationPair.home(settings: settings), extraArguments: extraArguments)
        try await daemon.waitUntilServing(client)
        try await client.managerCall("SignIn", [.string("internet")])
        if let name { try await setName(name) }
    }

    /// Runs peercollabctl against this daemon's bus (`--bus` last, after the verb's words).
    func ctl(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)) async throws -> ProcessRunner.Output {
        try await ProcessRunner.run(ProcessRunner.ctlPath, arguments + ["--bus", bus.address], input: input, timeout: timeout)
    }

    func setName(_ name: String) async throws {
        _ = try await client.call(
            destination: PeerCollabBus.serviceName, path: DaemonProcess.root, interface: "org.freedesktop.DBus.Properties",
            member: "Set", arguments: [.string(PeerCollabBus.Interface.manager), .string(ManagerProperty.displayName.rawValue), .variant(.string(name))])
    }

    var peerName: String {
        get async throws { try await client.managerProperty(ManagerProperty.peerName.rawValue).stringValue ?? "" }
    }

    /// `peercollab:PEERNAME@127.0.0.1:PORT`.
    func link() async throws -> String {
        let endpoints = try await client.managerProperty(ManagerProperty.endpoints.rawValue).arrayElements ?? []
        let ports = endpoints.compactMap { $0.structureFields?[1].uint16Value }
        let port = try #require(ports.first)
        return "peercollab:\(try await peerName)@127.0.0.1:\(port)"
    }

    /// Connects to `other` (Manager.Connect): the Peer object, complete, is there on return.
    @discardableResult
    func connect(to other: CtlHost) async throws -> DBusObjectPath {
        let reply = try await client.managerCall("Connect", [.string(try await other.link())])
        return try #require(reply.first?.objectPathValue)
    }
}

/// The JSON shapes of docs/cli.md, checked against the API's own property tables: one shape
/// per kind of object, its keys the D-Bus property names plus `Path`.
enum CtlShape {
    static func keys<P: APIProperty>(_ kind: P.Type) -> Set<String> { Set(P.allCases.map(\.rawValue)).union(["Path"]) }
    static let manager = keys(ManagerProperty.self)
    /// Peer and Invitation objects also say whether the person is a verified contact, an
    /// unverified one or a stranger (`Trust`, peercollabctl's own).
    static let peer = keys(PeerProperty.self).union(["Trust"])
    static let contact = keys(ContactProperty.self)
    static let invitation = keys(InvitationProperty.self).union(["Trust"])
    static let application = keys(ApplicationProperty.self)
    static let card: Set<String> = ["PeerName", "Card", "Links"]
    static let links: Set<String> = ["PeerName", "Links"]
    static let object: Set<String> = ["Id", "Size", "Data"]
    static let error: Set<String> = ["error", "message"]
    static let errorWithCandidates: Set<String> = ["error", "message", "candidates"]
    static let candidate: Set<String> = ["DisplayName", "Nickname", "PeerName", "Contact", "Peer"]

    /// The one JSON object `text` holds, checked to have exactly `shape`'s keys.
    @discardableResult
    static func object(_ text: String, _ shape: Set<String>, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let object = try #require(parsed as? [String: Any], "\(what): not a JSON object: \(text)", sourceLocation: sourceLocation)
        #expect(Set(object.keys) == shape, "\(what): keys \(object.keys.sorted()) are not the documented \(shape.sorted())", sourceLocation: sourceLocation)
        return object
    }

    /// A JSON array of objects of one shape.
    @discardableResult
    static func array(_ text: String, _ shape: Set<String>, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let array = try #require(parsed as? [[String: Any]], "\(what): not a JSON array of objects: \(text)", sourceLocation: sourceLocation)
        for object in array {
            #expect(Set(object.keys) == shape, "\(what): keys \(object.keys.sorted()) are not the documented \(shape.sorted())", sourceLocation: sourceLocation)
        }
        return array
    }

    /// A failure: `{"error": NAME, "message": TEXT}` on stderr, nothing on stdout, `status`.
    @discardableResult
    static func failure(
        _ output: ProcessRunner.Output, _ name: String, status: Int32, _ what: String, candidates: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: Any] {
        #expect(output.status == status, "\(what): exit \(output.status), not \(status): \(output.standardError)", sourceLocation: sourceLocation)
        #expect(output.standardOutput.isEmpty, "\(what): printed \(output.standardOutput)", sourceLocation: sourceLocation)
        let object = try self.object(output.standardError, candidates ? errorWithCandidates : error, what, sourceLocation: sourceLocation)
        #expect(object["error"] as? String == name, "\(what): error \(object["error"] ?? "nil")", sourceLocation: sourceLocation)
        #expect((object["message"] as? String)?.isEmpty == false, "\(what)", sourceLocation: sourceLocation)
        return object
    }
}
