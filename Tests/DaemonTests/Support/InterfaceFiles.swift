import DBus
import Foundation
import Testing

/// `dbus/*.xml`, compared with what the running daemon serves.
enum InterfaceFiles {
    /// The interfaces whose files some test compares with a live object.
    static let checkedByTests: Set<String> = [
        "org.peercollab.PeerCollab1.Manager", "org.peercollab.PeerCollab1.Peer", "org.peercollab.PeerCollab1.Invitation",
        "org.peercollab.PeerCollab1.Application", "org.peercollab.PeerCollab1.Contact",
    ]

    static var folder: URL { ProcessRunner.repositoryRoot.appendingPathComponent("dbus") }

    static func names() throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".xml") }.map { String($0.dropLast(4)) })
    }

    /// Introspects `path` and expects its `name` element to equal the one in `dbus/name.xml`.
    static func expectMatch(_ name: String, at path: DBusObjectPath, on client: DBusConnection) async throws {
        let reply = try await client.call(
            destination: DaemonProcess.service, path: path,
            interface: "org.freedesktop.DBus.Introspectable", member: "Introspect")
        let live = try #require(reply.first?.stringValue)
        let document = try String(contentsOf: folder.appendingPathComponent(name + ".xml"), encoding: .utf8)
        let kept = try #require(element(named: name, in: document), "dbus/\(name).xml has no interface \(name)")
        let served = try #require(element(named: name, in: live), "the daemon does not serve \(name) at \(path)")
        #expect(kept == served, "dbus/\(name).xml differs from the running daemon; regenerate it with peercollabd --print-introspection \(name)")
    }

    /// The `<interface name="NAME">…</interface>` element, whitespace between tags removed.
    static func element(named name: String, in document: String) -> String? {
        guard let start = document.range(of: "<interface name=\"\(name)\">"),
            let end = document.range(of: "</interface>", range: start.upperBound..<document.endIndex)
        else { return nil }
        return document[start.lowerBound..<end.upperBound]
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined()
    }
}
