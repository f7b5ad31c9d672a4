import ArgumentParser
import DBus
import PeerCollabAPI

/// `peercollabctl near`: the people reachable now.
struct Near: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the people reachable now: near you, and contacts connected over the internet.",
        discussion: """
            A display name is only a claim; the peer name is proven by the peer's key. Someone \
            shown as a stranger under TRUST is not one of your contacts, whatever name they show.
            """)

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let client = try DaemonClient(options: options)
        let peers = try await ManagedObjects.fetch(client, interface: DaemonClient.peer).sorted {
            (Self.text($0, .displayName), Self.text($0, .peerName)) < (Self.text($1, .displayName), Self.text($1, .peerName))
        }
        if options.json {
            print(try await ManagedObjects.jsonArray(peers, client))
            return
        }
        guard !peers.isEmpty else {
            let signedIn = try await client.properties(of: DaemonClient.manager)[ManagerProperty.signedIn.rawValue]?.stringArrayValue ?? []
            print(signedIn.isEmpty
                ? "Nobody: you are not signed in. Sign in with 'peercollabctl signin'."
                : "Nobody reachable yet. 'peercollabctl doctor' checks what may stand in the way.")
            return
        }
        let contacts = try await Trust.contacts(client)
        let rows = [["NAME", "PRESENCE", "TRUST", "ADDRESS", "PEER NAME"]]
            + peers.map { peer in
                let name = Self.text(peer, .displayName)
                return [name.isEmpty ? "?" : name, Self.text(peer, .presenceStatus), Trust.of(Self.text(peer, .peerName), contacts).label,
                        Self.address(peer), Self.text(peer, .peerName)]
            }
        TextTable.printRows(rows)
    }

    static func text(_ peer: ManagedObjects.Entry, _ property: PeerProperty) -> String {
        peer.properties[property.rawValue]?.stringValue ?? ""
    }

    /// The first address, host:port.
    static func address(_ peer: ManagedObjects.Entry) -> String {
        guard let first = peer.properties[PeerProperty.addresses.rawValue]?.arrayElements?.first?.structureFields, first.count == 2,
            let host = first[0].stringValue, let port = first[1].uint16Value
        else { return "" }
        return TextTable.endpoint(host, port)
    }
}
