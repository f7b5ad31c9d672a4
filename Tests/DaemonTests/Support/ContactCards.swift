import Collaboration
import DBus
import PeerCollabAPI
import Foundation
import PeerSecurity
import TestSupport

/// Contact cards of people who do not run a daemon: a real key and certificate each (made by
/// PeerSecurity in a scratch folder), written as peercollab writes them.
enum ContactCards {
    struct Person {
        let identity: PeerIdentity
        let displayName: String
        var peerName: String { identity.peerName.description }

        func card(endpoints: [ContactEndpoint] = [ContactEndpoint(host: "192.0.2.9", port: 4000)], peerName: String? = nil) -> String {
            ContactCard(
                displayName: displayName, email: "someone@example.org", peerName: peerName ?? self.peerName,
                certificateDER: identity.certificateDER, endpoints: endpoints
            ).encode()
        }
    }

    static func person(_ displayName: String) throws -> Person {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("card-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        return Person(identity: try PeerIdentity.loadOrCreate(directory: folder.path), displayName: displayName)
    }

    static func contactPath(_ peerName: String) -> DBusObjectPath {
        DBusObjectPath(stringLiteral: PeerCollabBus.contactPath(peerName))
    }

    static let contactInterface = PeerCollabBus.Interface.contact
}

extension DBusConnection {
    /// The Contact objects the daemon exports now, with their properties.
    func contacts() async throws -> [String: [String: DBusValue]] {
        let reply = try await call(
            destination: DaemonProcess.service, path: DaemonProcess.root,
            interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects", timeout: .seconds(60))
        guard case .dictionary(_, _, let entries)? = reply.first else { return [:] }
        var result: [String: [String: DBusValue]] = [:]
        for entry in entries {
            guard let path = entry.key.objectPathValue, case .dictionary(_, _, let interfaces) = entry.value else { continue }
            for interface in interfaces where interface.key.stringValue == ContactCards.contactInterface {
                result[String(path.rawValue.split(separator: "/").last ?? "")] = interface.value.vardictValue
            }
        }
        return result
    }

    func addContact(_ card: String) async throws -> DBusObjectPath {
        let reply = try await call(
            destination: DaemonProcess.service, path: DaemonProcess.root, interface: DaemonProcess.manager,
            member: "AddContact", arguments: [.string(card)])
        guard let path = reply.first?.objectPathValue else { throw TestFailure("AddContact returned no path") }
        return path
    }

    func contactProperty(_ peerName: String, _ name: String) async throws -> DBusValue? {
        let reply = try await call(
            destination: DaemonProcess.service, path: ContactCards.contactPath(peerName),
            interface: "org.freedesktop.DBus.Properties", member: "Get",
            arguments: [.string(ContactCards.contactInterface), .string(name)])
        return reply.first?.variantValue
    }
}
