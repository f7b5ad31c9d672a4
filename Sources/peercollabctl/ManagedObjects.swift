import DBus

/// Objects of one interface, read with one GetManagedObjects call, and the JSON shape every
/// object has: its D-Bus properties, spelled as in docs/dbus-api.md, plus `Path`.
enum ManagedObjects {
    struct Entry {
        let path: DBusObjectPath
        let properties: [String: DBusValue]
    }

    /// Every child object, by interface.
    static func fetchAll(_ client: DaemonClient) async throws -> [String: [Entry]] {
        let reply = try await client.call(path: DaemonClient.root, interface: DaemonClient.objectManager, member: "GetManagedObjects")
        guard case .dictionary(_, _, let objects)? = reply.first else { return [:] }
        var byInterface: [String: [Entry]] = [:]
        for object in objects {
            guard let path = object.key.objectPathValue, case .dictionary(_, _, let interfaces) = object.value else { continue }
            for interface in interfaces {
                guard let name = interface.key.stringValue, let properties = interface.value.vardictValue else { continue }
                byInterface[name, default: []].append(Entry(path: path, properties: properties))
            }
        }
        return byInterface
    }

    static func fetch(_ client: DaemonClient, interface: String) async throws -> [Entry] {
        try await fetchAll(client)[interface] ?? []
    }

    /// One JSON object, the keys being the D-Bus property names plus `Path`.
    static func json(_ entry: Entry) -> String { json(entry.path, entry.properties) }

    static func json(_ path: DBusObjectPath, _ properties: [String: DBusValue]) -> String {
        JSONText.object([("Path", .objectPath(path))] + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }

    static func jsonArray(_ entries: [Entry]) -> String { JSONText.array(entries.map(json)) }
}
