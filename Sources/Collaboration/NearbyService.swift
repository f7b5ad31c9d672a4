import PeerSecurity

/// A peercollab announcement seen on the link, as the domain needs it: a claim of a peer
/// name and where to dial. It proves nothing until the channel does.
public struct NearbyService: Sendable, Hashable {
    public var instanceName: String
    /// From TXT `pn`; the channel must prove the key.
    public var claimedPeerName: PeerName
    public var endpoints: [ContactEndpoint]
    /// Who makes the claim, for the bound on claims per source: the first address it names.
    public var source: String
    /// TXT `dn`: the display name it hints at, for messages only (the profile is what counts).
    public var nameHint: String

    public init(
        instanceName: String, claimedPeerName: PeerName, endpoints: [ContactEndpoint], source: String? = nil, nameHint: String = ""
    ) {
        self.instanceName = instanceName
        self.claimedPeerName = claimedPeerName
        self.endpoints = endpoints
        self.source = source ?? endpoints.first?.host ?? instanceName
        self.nameHint = nameHint
    }
}
