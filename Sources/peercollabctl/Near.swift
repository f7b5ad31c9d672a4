import ArgumentParser
import DBus

/// `peercollabctl near`: the people reachable now.
struct Near: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the people reachable now: near you, and contacts connected over the internet.",
        discussion: """
            A display name is only a claim; the peer name is proven by the peer's key. Someone \
            shown as "no" under CONTACT is not one of your contacts, whatever name they show.
            """)

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let client = try DaemonClient(options: options)
        let peers = try await PeerList.fetch(client)
        if options.json {
            print("[" + peers.map(PeerList.json).joined(separator: ",") + "]")
            return
        }
        guard !peers.isEmpty else {
            let signedIn = try await client.properties(of: DaemonClient.manager)["SignedIn"]?.stringArrayValue ?? []
            print(signedIn.isEmpty
                ? "Nobody: you are not signed in. Sign in with 'peercollabctl signin'."
                : "Nobody reachable yet. 'peercollabctl doctor' checks what may stand in the way.")
            return
        }
        let rows = [["NAME", "PRESENCE", "CONTACT", "ADDRESS", "PEER NAME"]]
            + peers.map { [$0.displayName.isEmpty ? "?" : $0.displayName, $0.presence, $0.isContact ? "yes" : "no", $0.address, $0.peerName] }
        TextTable.printRows(rows)
    }
}
