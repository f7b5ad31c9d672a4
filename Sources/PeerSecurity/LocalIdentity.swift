import Synchronization

/// The local user's identity as the daemon holds it: the peer name and fingerprint at
/// once, the key and certificate when first needed (signing in, a contact card, a
/// contact's verification code, the first TLS connection).
///
/// Why not load at start: the first OpenSSL 3 call of a process sets up its providers,
/// which leaves about 2.5 MiB of libcrypto resident for good, and a daemon nobody has
/// signed in needs only the name and fingerprint. Those come from ``IdentitySummary``
/// (`identity.cache`), which is believed only while the identity files are untouched
/// since it was written and the certificate is not yet due for renewal; otherwise, and
/// on the first start, the identity is loaded (made, renewed) at once, as it always was.
public final class LocalIdentity: Sendable {
    /// The folder holding the key, the certificate and the summary.
    public let directory: String
    /// The name derived from the key; it never changes while the daemon runs.
    public let peerName: PeerName
    /// When it was opened: a later load renews nothing, so that the fingerprint, like the
    /// name, stays what the daemon showed from the start (renewal happens at start).
    private let openedAt: Int64
    private let state: Mutex<State>
    /// Why the key was refused at start (its mode or owner), with the fix; nil when it was not.
    public let refusedAtStart: String?

    private enum State {
        /// Known from the summary on disk; the key is not loaded.
        case summarized(IdentitySummary)
        /// Loaded; `written` is the summary on disk that describes it, if there is one.
        case loaded(PeerIdentity, written: IdentitySummary?)
    }

    /// Opens the identity kept in `directory`: from its summary when that is current at
    /// `now` (seconds since 1970), else by loading it, or making one on first start
    /// (``PeerIdentity/loadOrCreate(directory:)``, whose errors this throws).
    public static func open(directory: String, now: Int64 = Int64(time(nil))) throws -> LocalIdentity {
        if let summary = IdentitySummary.read(directory: directory),
            summary.notAfter - now >= PeerIdentity.renewalMargin,
            summary.matchesFiles(in: directory)
        {
            return LocalIdentity(directory: directory, peerName: summary.peerName, openedAt: now, state: .summarized(summary))
        }
        let loaded: PeerIdentity
        do {
            loaded = try PeerIdentity.loadOrCreate(directory: directory, now: now)
        } catch let error as PeerSecurityError where error.code == .keyFileExposed || error.code == .keyFileNotOwned {
            // Serve anyway, named from the (public) certificate: only what needs the key
            // (signing in, cards, connections) is refused, each time with this error's fix,
            // and works as soon as the key file is put right.
            guard let summary = IdentitySummary(certificateIn: directory) else { throw error }
            return LocalIdentity(
                directory: directory, peerName: summary.peerName, openedAt: now, state: .summarized(summary), refusedAtStart: error.message)
        }
        var state = State.loaded(loaded, written: nil)
        keepSummary(&state, directory: directory)
        return LocalIdentity(directory: directory, peerName: loaded.peerName, openedAt: now, state: state)
    }

    /// An identity already loaded (tools and tests that hold a ``PeerIdentity``).
    public convenience init(_ identity: PeerIdentity) {
        self.init(
            directory: identity.directory, peerName: identity.peerName, openedAt: Int64(time(nil)),
            state: .loaded(identity, written: nil))
    }

    private init(directory: String, peerName: PeerName, openedAt: Int64, state: State, refusedAtStart: String? = nil) {
        self.refusedAtStart = refusedAtStart
        self.directory = directory
        self.peerName = peerName
        self.openedAt = openedAt
        self.state = Mutex(state)
    }

    /// Whether the key and certificate have been loaded.
    public var isLoaded: Bool {
        state.withLock { if case .loaded = $0 { true } else { false } }
    }

    /// The fingerprint of the current certificate.
    public var fingerprint: Fingerprint {
        state.withLock { state in
            switch state {
            case .summarized(let summary): summary.fingerprint
            case .loaded(let identity, _): identity.fingerprint
            }
        }
    }

    /// The key and certificate, loaded on the first call. Throws what loading throws, and
    /// ``PeerSecurityError/Code/identityChanged`` when the files now hold another key or
    /// certificate than the ones this daemon started with (its name and fingerprint are
    /// constant on the bus); the summary is then removed, so that the next start loads
    /// them afresh.
    public func load() throws -> PeerIdentity {
        try state.withLock { state throws -> PeerIdentity in
            switch state {
            case .loaded(let identity, _):
                return identity
            case .summarized(let started):
                // The summary was current at `openedAt`: nothing is due for renewal then.
                let identity = try PeerIdentity.loadOrCreate(directory: directory, now: openedAt)
                guard identity.peerName == started.peerName, identity.fingerprint == started.fingerprint else {
                    IdentitySummary.remove(directory: directory)
                    throw PeerSecurityError.identityChanged(
                        directory: directory, started: (started.peerName, started.fingerprint),
                        found: (identity.peerName, identity.fingerprint))
                }
                state = .loaded(identity, written: started)
                Self.keepSummary(&state, directory: directory)
                return identity
            }
        }
    }

    /// Writes the summary of a loaded identity when the one on disk no longer says the same
    /// (first start, renewal, files touched). A failure only costs the next start the load
    /// this saves, so it is not reported.
    private static func keepSummary(_ state: inout State, directory: String) {
        guard case .loaded(let identity, let written) = state, let current = IdentitySummary(of: identity), current != written
        else { return }
        if (try? current.write(directory: directory)) != nil { state = .loaded(identity, written: current) }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
