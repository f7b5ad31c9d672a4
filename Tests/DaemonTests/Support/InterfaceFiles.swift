import DBus
import Foundation
import Testing
import PeerCollabAPI
import TestSupport

/// `dbus/*.xml`, compared with what the running daemon serves.
enum InterfaceFiles {
    /// The interfaces whose files some test compares with a live object.
    static let checkedByTests: Set<String> = [
        PeerCollabBus.Interface.manager, PeerCollabBus.Interface.peer, PeerCollabBus.Interface.invitation,
        PeerCollabBus.Interface.application, PeerCollabBus.Interface.contact,
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
        expectDocumented(name, served)
    }

    /// Every method, property and signal the daemon serves on `name` is named in that
    /// interface's section of docs/dbus-api.md: the contract lists all it serves.
    static func expectDocumented(_ name: String, _ element: String) {
        let docs = (try? String(contentsOf: ProcessRunner.repositoryRoot.appendingPathComponent("docs/dbus-api.md"), encoding: .utf8)) ?? ""
        guard let heading = docs.range(of: "\n## \(name)\n") ?? docs.range(of: "\n## \(name) ") else {
            Issue.record("docs/dbus-api.md has no section \"## \(name)\"")
            return
        }
        let rest = docs[heading.upperBound...]
        let section = rest.range(of: "\n## ").map { rest[..<$0.lowerBound] } ?? rest
        let words = Set(section.split { !$0.isLetter && !$0.isNumber }.map(String.init))
        for kind in ["method", "property", "signal"] {
            var cursor = element.startIndex
            while let open = element.range(of: "<\(kind) name=\"", range: cursor..<element.endIndex),
                let close = element.range(of: "\"", range: open.upperBound..<element.endIndex)
            {
                let member = String(element[open.upperBound..<close.lowerBound])
                #expect(words.contains(member), "docs/dbus-api.md does not document \(kind) \(name).\(member)")
                cursor = close.upperBound
            }
        }
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
