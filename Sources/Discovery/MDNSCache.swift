import NIOCore

/// Records heard on the network, per interface, until their TTL runs out (RFC 6762 §5.2,
/// §10). Bounded: when full, the record closest to expiry makes room.
public struct MDNSCache: Sendable {
    /// A cached record and its timing.
    public struct Entry: Sendable, Hashable {
        public var record: DNSResourceRecord
        public var interfaceIndex: Int32
        public var receivedAt: NIODeadline
        public var expiresAt: NIODeadline
        /// How many of the 80/85/90/95 % re-queries have been asked for.
        var refreshesDone: Int
        /// 0–2 % of the TTL added to each refresh point, so hosts do not ask in step.
        var refreshJitterPermille: Int64

        /// When the next re-query is due, or nil when all four were asked.
        var nextRefresh: NIODeadline? {
            guard refreshesDone < 4, record.ttl > 0 else { return nil }
            let permille = 800 + 50 * Int64(refreshesDone) + refreshJitterPermille
            return receivedAt + .nanoseconds(Int64(record.ttl) * 1_000_000 * permille)
        }

        /// Whether the record still has at least half its TTL left (known-answer rule, §7.1).
        func hasHalfTTLLeft(at now: NIODeadline) -> Bool {
            (expiresAt - now).nanoseconds * 2 >= Int64(record.ttl) * 1_000_000_000
        }
    }

    /// How many records it holds at most.
    public let capacity: Int
    private var entries: [DNSName: [Entry]] = [:]
    public private(set) var count = 0
    private var random: MDNSRandom
    /// No later than the earliest expiry or re-query of any entry; exact after a walk over
    /// all entries. Inserting only lowers it, so the timer never has to walk the cache, and
    /// `expire` and `refreshesDue` walk only when something may be due.
    private var earliest: NIODeadline?

    private mutating func lowerEarliest(to deadline: NIODeadline) {
        earliest = min(earliest ?? deadline, deadline)
    }

    private mutating func recomputeEarliest() {
        var found: NIODeadline? = nil
        for list in entries.values {
            for entry in list {
                let candidate = min(entry.expiresAt, entry.nextRefresh ?? entry.expiresAt)
                if found == nil || candidate < found! { found = candidate }
            }
        }
        earliest = found
    }

    public init(capacity: Int = 4096, random: MDNSRandom = MDNSRandom()) {
        self.capacity = max(1, capacity)
        self.random = random
    }

    /// What storing a record did.
    public enum InsertResult: Sendable, Hashable {
        case added, refreshed, goodbye, ignored
        /// Added after dropping another record because the cache was full.
        case addedByEvicting
    }

    /// Stores `record` heard on `interfaceIndex` at `now`. TTL 0 is a goodbye: the record
    /// goes in one second (§10.1). A cache-flush record makes older records of its set go
    /// in one second (§10.2).
    @discardableResult
    public mutating func insert(_ record: DNSResourceRecord, interfaceIndex: Int32, now: NIODeadline) -> InsertResult {
        var list = entries[record.name] ?? []
        // Everything in `list` has this name, so only the rest of the record is compared
        // (the list under a service type holds every instance on the link).
        let existing = list.firstIndex {
            $0.interfaceIndex == interfaceIndex && $0.record.type == record.type && $0.record.recordClass == record.recordClass && $0.record.data == record.data
        }
        if record.ttl == 0 {
            guard let existing else { return .ignored }
            list[existing].expiresAt = min(list[existing].expiresAt, now + .seconds(1))
            list[existing].refreshesDone = 4
            entries[record.name] = list
            lowerEarliest(to: list[existing].expiresAt)
            return .goodbye
        }
        if record.cacheFlush {
            for index in list.indices
            where list[index].interfaceIndex == interfaceIndex && list[index].record.type == record.type
                && !list[index].record.isSameRecord(as: record) && list[index].receivedAt < now - .seconds(1)
            {
                list[index].expiresAt = min(list[index].expiresAt, now + .seconds(1))
                list[index].refreshesDone = 4
                lowerEarliest(to: list[index].expiresAt)
            }
        }
        let entry = Entry(
            record: record, interfaceIndex: interfaceIndex, receivedAt: now,
            expiresAt: now + .seconds(Int64(record.ttl)), refreshesDone: 0,
            refreshJitterPermille: Int64.random(in: 0...20, using: &random)
        )
        lowerEarliest(to: min(entry.expiresAt, entry.nextRefresh ?? entry.expiresAt))
        if let existing {
            list[existing] = entry
            entries[record.name] = list
            return .refreshed
        }
        var result = InsertResult.added
        if count >= capacity {
            entries[record.name] = list
            evictSoonestExpiring()
            list = entries[record.name] ?? []
            result = .addedByEvicting
        }
        list.append(entry)
        entries[record.name] = list
        count += 1
        return result
    }

    private mutating func evictSoonestExpiring() {
        var victim: (DNSName, Int, NIODeadline)? = nil
        for (name, list) in entries {
            for (index, entry) in list.enumerated() where victim == nil || entry.expiresAt < victim!.2 {
                victim = (name, index, entry.expiresAt)
            }
        }
        guard let (name, index, _) = victim else { return }
        entries[name]!.remove(at: index)
        if entries[name]!.isEmpty { entries[name] = nil }
        count -= 1
    }

    /// Removes and returns records whose time is up.
    public mutating func expire(now: NIODeadline) -> [Entry] {
        guard let earliest, earliest <= now else { return [] }
        defer { recomputeEarliest() }
        var removed: [Entry] = []
        for (name, list) in entries where list.contains(where: { $0.expiresAt <= now }) {
            removed += list.filter { $0.expiresAt <= now }
            let kept = list.filter { $0.expiresAt > now }
            entries[name] = kept.isEmpty ? nil : kept
        }
        count -= removed.count
        return removed
    }

    /// Records due for a re-query (RFC 6762 §5.2: at 80, 85, 90 and 95 % of the TTL), each
    /// returned once per point.
    public mutating func refreshesDue(now: NIODeadline) -> [Entry] {
        guard let earliest, earliest <= now else { return [] }
        defer { recomputeEarliest() }
        var due: [Entry] = []
        for (name, list) in entries {
            var changed = list
            for index in changed.indices {
                guard let at = changed[index].nextRefresh, at <= now else { continue }
                due.append(changed[index])
                // Points already past (after a long sleep) are skipped, not asked in a burst.
                while let next = changed[index].nextRefresh, next <= now { changed[index].refreshesDone += 1 }
            }
            if changed != list { entries[name] = changed }
        }
        return due
    }

    /// The earliest time something expires or needs a re-query.
    /// Possibly a little early (after a record was refreshed), never late.
    public var nextDeadline: NIODeadline? { earliest }

    /// Live records named `name`, of `type` (any type when nil), on `interfaceIndex` (any when nil).
    public func records(named name: DNSName, type: DNSRecordType? = nil, interfaceIndex: Int32? = nil) -> [Entry] {
        (entries[name] ?? []).filter {
            (type == nil || $0.record.type == type!) && (interfaceIndex == nil || $0.interfaceIndex == interfaceIndex!)
        }
    }

    /// Drops every record heard on an interface that went away.
    public mutating func removeInterface(_ index: Int32) -> [Entry] {
        var removed: [Entry] = []
        for (name, list) in entries where list.contains(where: { $0.interfaceIndex == index }) {
            removed += list.filter { $0.interfaceIndex == index }
            let kept = list.filter { $0.interfaceIndex != index }
            entries[name] = kept.isEmpty ? nil : kept
        }
        count -= removed.count
        recomputeEarliest()
        return removed
    }
}
