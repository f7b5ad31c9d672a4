/// Requests sent on links whose answers are awaited (object fetches): ids unique among
/// those in flight (wrapping after 2³² requests), a bound per link, an answer taken only
/// from the link the request went out on, and every request of a link failed at once when
/// it closes. The owner keeps each request's deadline on its timer and calls ``take(_:)``.
public struct RequestsInFlight<Waiter: Sendable>: Sendable {
    private struct Request: Sendable {
        var linkID: Int
        var waiter: Waiter
    }

    /// Requests in flight on one link at once.
    public let perLink: Int
    private var nextID: UInt32 = 0
    private var requests: [UInt32: Request] = [:]

    public init(perLink: Int) {
        self.perLink = perLink
    }

    /// Registers a request on `linkID` and returns its id, or nil when the link has
    /// ``perLink`` in flight already.
    public mutating func start(on linkID: Int, waiter: Waiter) -> UInt32? {
        guard outstanding(on: linkID) < perLink else { return nil }
        repeat { nextID &+= 1 } while requests[nextID] != nil
        requests[nextID] = Request(linkID: linkID, waiter: waiter)
        return nextID
    }

    /// The answer to `id` arrived on `linkID`: its waiter, if the request went out there.
    public mutating func answered(_ id: UInt32, on linkID: Int) -> Waiter? {
        guard requests[id]?.linkID == linkID else { return nil }
        return requests.removeValue(forKey: id)?.waiter
    }

    /// Removes `id` whatever link it is on (its deadline passed).
    public mutating func take(_ id: UInt32) -> Waiter? {
        requests.removeValue(forKey: id)?.waiter
    }

    /// Removes and returns every request of the link (it closed).
    public mutating func takeAll(on linkID: Int) -> [(id: UInt32, waiter: Waiter)] {
        let ids = requests.filter { $0.value.linkID == linkID }.keys.sorted()
        return ids.map { ($0, requests.removeValue(forKey: $0)!.waiter) }
    }

    public func outstanding(on linkID: Int) -> Int {
        requests.values.count { $0.linkID == linkID }
    }

    public var count: Int { requests.count }
}
