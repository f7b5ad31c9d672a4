/// The authenticated links I hold, at most one per peer, and the rules for taking a new
/// one: when both sides dial at once, both keep the link dialled by the peer whose name
/// sorts lower (so both drop the same one without a word); peers that are not my contacts
/// are bounded in all and per source address, so a host making fresh keys cannot fill the
/// daemon, and contacts always get in. It also keeps which links missed a keepalive.
///
/// A value type the owner holds; `Link` is whatever handle the owner sends through.
public struct LinkRegistry<Link: Sendable>: Sendable {
    public struct Limits: Sendable {
        /// Peers that are not my contacts connected at once, and of those from one address.
        public var strangers = 128
        public var strangersPerSource = 8

        public init() {}
    }

    /// Why a new link is not taken.
    public enum Refusal: Sendable, Equatable {
        /// The link already held to that peer wins the tie-break.
        case duplicate
        /// Too many strangers connected: from that source (`fromSource`) or in all.
        case tooManyStrangers(fromSource: Bool, connected: Int)
    }

    /// What happens to a new link: kept (closing the one it replaces, if any), or refused.
    public enum Admission: Sendable {
        case keep(replacing: Link?)
        case refuse(Refusal)
    }

    private struct Entry: Sendable {
        var link: Link
        var peer: String
        var isOutgoing: Bool
        var source: String?
    }

    public let limits: Limits
    private var entries: [Int: Entry] = [:]
    private var linkOfPeer: [String: Int] = [:]
    private var stale: Set<Int> = []
    /// Strangers refused since the start.
    public private(set) var strangersRefused = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Takes the link `id` that proved `peer`'s key, if the rules allow. `iSortLower`: my
    /// peer name sorts before `peer`'s (the tie-break); `isContact` says who is a contact.
    public mutating func admit(
        _ link: Link, id: Int, peer: String, isOutgoing: Bool, source: String?, iSortLower: Bool,
        isContact: (String) -> Bool
    ) -> Admission {
        var replaced: Link?
        if let existingID = linkOfPeer[peer], let existing = entries[existingID] {
            // Both sides keep the link dialled by the peer whose name sorts lower.
            guard isOutgoing == iSortLower, existing.isOutgoing != iSortLower else { return .refuse(.duplicate) }
            detach(existingID)
            replaced = existing.link
        } else if !isContact(peer) {
            var total = 0
            var fromThere = 0
            for (other, otherID) in linkOfPeer where !isContact(other) {
                total += 1
                if let source, entries[otherID]?.source == source { fromThere += 1 }
            }
            if fromThere >= limits.strangersPerSource || total >= limits.strangers {
                strangersRefused += 1
                let fromSource = fromThere >= limits.strangersPerSource
                return .refuse(.tooManyStrangers(fromSource: fromSource, connected: fromSource ? fromThere : total))
            }
        }
        entries[id] = Entry(link: link, peer: peer, isOutgoing: isOutgoing, source: source)
        linkOfPeer[peer] = id
        return .keep(replacing: replaced)
    }

    /// Forgets the link `id`; returns its peer when it was that peer's current link.
    @discardableResult
    public mutating func detach(_ id: Int) -> String? {
        stale.remove(id)
        guard let entry = entries.removeValue(forKey: id), linkOfPeer[entry.peer] == id else { return nil }
        linkOfPeer[entry.peer] = nil
        return entry.peer
    }

    // MARK: Lookups

    public func link(_ id: Int) -> Link? { entries[id]?.link }
    public func peer(ofLink id: Int) -> String? { entries[id]?.peer }
    public func linkID(ofPeer peer: String) -> Int? { linkOfPeer[peer] }
    public func link(ofPeer peer: String) -> Link? { linkOfPeer[peer].flatMap { entries[$0]?.link } }
    /// Every link with its id, in id order.
    public var all: [(id: Int, link: Link)] { entries.keys.sorted().map { ($0, entries[$0]!.link) } }
    public var count: Int { entries.count }

    // MARK: Staleness

    /// Marks the link as having missed a keepalive; returns whether that is news.
    public mutating func markStale(_ id: Int) -> Bool {
        guard entries[id] != nil else { return false }
        return stale.insert(id).inserted
    }

    /// The link was heard from again; returns whether it had been stale.
    @discardableResult
    public mutating func markFresh(_ id: Int) -> Bool { stale.remove(id) != nil }

    public func isStale(_ id: Int) -> Bool { stale.contains(id) }
}
