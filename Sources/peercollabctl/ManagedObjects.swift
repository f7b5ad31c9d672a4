import DBus

/// Objects of one interface, read with one GetManagedObjects call.
enum ManagedObjects {
    struct Entry {
        let path: DBusObjectPath
        let properties: [String: DBusValue]
    }

    static func fetch(_ client: DaemonClient, interface: String) async throws -> [Entry] {
        let reply = try await client.call(
            path: DaemonClient.root, interface: "org.freedesktop.DBus.ObjectManager", member: "GetManagedObjects")
        guard case .dictionary(_, _, let objects)? = reply.first else { return [] }
        return objects.compactMap { object -> Entry? in
            guard let path = object.key.objectPathValue, case .dictionary(_, _, let interfaces) = object.value,
                let properties = interfaces.first(where: { $0.key.stringValue == interface })?.value.vardictValue
            else { return nil }
            return Entry(path: path, properties: properties)
        }
    }

    /// One JSON object, the keys being the D-Bus property names plus `Path`.
    static func json(_ entry: Entry) -> String { json(entry.path, entry.properties) }

    static func json(_ path: DBusObjectPath, _ properties: [String: DBusValue]) -> String {
        JSONText.object([("Path", .objectPath(path))] + properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }
}
