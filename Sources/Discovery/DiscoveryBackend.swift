/// Finding and announcing peercollab peers on the local link with DNS-SD, through Avahi or
/// the built-in mDNS responder. Everything here is a claim: a discovered service becomes a
/// peer only after the TLS channel proves it holds the key its TXT names.
public protocol DiscoveryBackend: Sendable {
    /// Which backend, for logs and `doctor`: "avahi" or "builtin".
    var name: String { get }

    /// Starts announcing `service` (probing for its name first; on a conflict the backend
    /// renames it and the new name comes back in a `.renamed` event). Replaces an earlier one.
    func publish(_ service: ServiceAnnouncement) async throws

    /// Stops announcing, sending goodbyes (TTL 0) so others see us leave at once.
    func withdraw() async

    /// What is found and lost from now on, including services present before the call
    /// (no event may be lost between browsing and subscribing). One stream per call.
    func browse() async throws -> AsyncStream<DiscoveryEvent>

    /// Asks the network again now (after resume, a new address, a new connection).
    func refresh() async

    /// The state of the backend for `peercollabctl doctor`: a few facts and, for each
    /// problem, what to do about it.
    func diagnose() async -> DiscoveryDiagnosis

    /// Stops everything (withdraws first); the backend is not used again.
    func shutdown() async
}

/// What we announce: `<instance>._peercollab._tcp.local` on `port`, with TXT records.
public struct ServiceAnnouncement: Sendable, Hashable {
    /// DNS-SD service type.
    public static let serviceType = "_peercollab._tcp"

    /// Unique on the link: derived from the peer name, never the host name alone.
    public var instanceName: String
    public var port: UInt16
    /// TXT key/value pairs: `v` (protocol version), `pn` (peer name), and hints such as `dn`.
    public var txt: [String: String]

    public init(instanceName: String, port: UInt16, txt: [String: String]) {
        self.instanceName = instanceName
        self.port = port
        self.txt = txt
    }
}

/// A peercollab service someone announces, resolved to addresses.
public struct DiscoveredService: Sendable, Hashable {
    public var instanceName: String
    /// The target host of the SRV record, such as `host-3.local`.
    public var hostName: String
    /// IPv4 and IPv6 addresses of the host (IPv6 link-local with `%interface`).
    public var addresses: [String]
    public var port: UInt16
    public var txt: [String: String]
    /// The interface it was seen on (index and name), for link-local addresses and doctor.
    public var interfaceIndex: Int32
    public var interfaceName: String

    public init(
        instanceName: String, hostName: String, addresses: [String], port: UInt16, txt: [String: String],
        interfaceIndex: Int32, interfaceName: String
    ) {
        self.instanceName = instanceName
        self.hostName = hostName
        self.addresses = addresses
        self.port = port
        self.txt = txt
        self.interfaceIndex = interfaceIndex
        self.interfaceName = interfaceName
    }
}

/// A change seen by a browser.
public enum DiscoveryEvent: Sendable, Hashable {
    /// A service appeared or its resolution changed (new address, TXT, port).
    case found(DiscoveredService)
    /// The service sent a goodbye or its records expired.
    case lost(instanceName: String)
    /// Our own announcement had to take another name after a conflict.
    case renamed(String)
}

/// Facts and problems for `peercollabctl doctor`.
public struct DiscoveryDiagnosis: Sendable, Hashable {
    public struct Check: Sendable, Hashable {
        /// What was checked, such as "multicast on eth0".
        public var subject: String
        public var ok: Bool
        /// What was found.
        public var detail: String
        /// What to do when not ok ("" when ok).
        public var advice: String

        public init(subject: String, ok: Bool, detail: String, advice: String = "") {
            self.subject = subject
            self.ok = ok
            self.detail = detail
            self.advice = advice
        }
    }

    public var backend: String
    public var checks: [Check]

    public init(backend: String, checks: [Check]) {
        self.backend = backend
        self.checks = checks
    }
}
