import PeerProtocol
import PeerSessions

/// My `GetObject` requests under way (ids and links are the session layer's rule), and the
/// objects fetched before, by peer and id, so an unchanged object (same revision) is not
/// fetched twice.
struct ObjectFetches: Sendable {
    struct Pending: Sendable {
        var peerID: String
        var objectID: String
        var continuation: CheckedContinuation<[UInt8], any Error>
    }

    struct Cached: Sendable {
        var revision: UInt64
        var data: [UInt8]
    }

    var pending: RequestsInFlight<Pending>
    private(set) var cache: [String: [String: Cached]] = [:]
    private(set) var cachedBytes = 0
    /// The cache keeps at most this many bytes of peers' objects.
    static let cacheLimit = 8 << 20

    init(perLink: Int) {
        pending = RequestsInFlight(perLink: perLink)
    }

    func cached(peer: String, object: String, revision: UInt64) -> [UInt8]? {
        guard let entry = cache[peer]?[object], entry.revision == revision else { return nil }
        return entry.data
    }

    mutating func store(peer: String, object: String, revision: UInt64, data: [UInt8]) {
        forget(peer: peer, object: object)
        // Whole peers go first when the cache is full; it is a convenience, not a store.
        while cachedBytes + data.count > Self.cacheLimit, let victim = cache.keys.first {
            forget(peer: victim)
        }
        cache[peer, default: [:]][object] = Cached(revision: revision, data: data)
        cachedBytes += data.count
    }

    mutating func forget(peer: String, object: String) {
        if let old = cache[peer]?.removeValue(forKey: object) { cachedBytes -= old.data.count }
        if cache[peer]?.isEmpty == true { cache[peer] = nil }
    }

    mutating func forget(peer: String) {
        if let entries = cache.removeValue(forKey: peer) {
            cachedBytes -= entries.values.reduce(0) { $0 + $1.data.count }
        }
    }
}
