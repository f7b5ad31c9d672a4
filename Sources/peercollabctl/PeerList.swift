import DBus

/// The daemon's Peer objects, read with one GetManagedObjects call.
struct PeerList {
    struct Entry {
        let path: DBusObjectPath
        let properties: [String: DBusValue]

        var displayName: String { properties["DisplayName"]?.stringValue ?? "" }
        var peerName: String { properties["PeerName"]?.stringValue ?? "" }
        var presence: String { properties["PresenceStatus"]?.stringValue ?? "" }
        var isContact: Bool { (properties["Contact"]?.objectPathValue).map { $0 != DBusObjectPath.root } ?? false }
        var address: String {
            guard let first = properties["Addresses"]?.arrayElements?.first?.structureFields, first.count == 2,
                let host = first[0].stringValue, let port = first[1].uint16Value
            else { return "" }
            return TextTable.endpoint(host, port)
        }
    }

    static func fetch(_ client: DaemonClient) async throws -> [Entry] {
        try await ManagedObjects.fetch(client, interface: DaemonClient.peer).map {
            Entry(path: $0.path, properties: $0.properties)
        }.sorted { ($0.displayName, $0.peerName) < ($1.displayName, $1.peerName) }
    }

    /// One JSON object per peer, the keys being the D-Bus property names plus `Path`.
    static func json(_ entry: Entry) -> String {
        ManagedObjects.json(entry.path, entry.properties)
    }
}
