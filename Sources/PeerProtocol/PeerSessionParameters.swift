/// What the two hellos agreed: the session's version and capabilities.
public struct PeerSessionParameters: Hashable, Sendable {
    /// The highest version both peers speak; both sides compute the same one.
    public var version: UInt16
    /// The capabilities both peers announced; use a feature only when it is here.
    public var sharedCapabilities: Set<PeerCapability>
    /// The peer's hello as received.
    public var remoteHello: PeerHello

    /// Makes parameters.
    public init(version: UInt16, sharedCapabilities: Set<PeerCapability>, remoteHello: PeerHello) {
        self.version = version
        self.sharedCapabilities = sharedCapabilities
        self.remoteHello = remoteHello
    }

    /// Negotiates: the highest version in both ranges, or ``PeerProtocolError/Code/versionMismatch``.
    public static func negotiate(local: PeerHello, remote: PeerHello) throws(PeerProtocolError) -> PeerSessionParameters {
        let highest = min(local.versions.upperBound, remote.versions.upperBound)
        guard highest >= max(local.versions.lowerBound, remote.versions.lowerBound) else {
            throw .versionMismatch(local: local.versions, remote: remote.versions)
        }
        return PeerSessionParameters(
            version: highest,
            sharedCapabilities: local.capabilities.intersection(remote.capabilities),
            remoteHello: remote
        )
    }
}
