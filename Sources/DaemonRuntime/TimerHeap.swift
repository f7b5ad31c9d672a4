/// Jobs waiting for a deadline, earliest first (a binary min-heap); equal deadlines come out
/// in the order they went in.
struct TimerHeap<Element> {
    private struct Entry {
        var deadline: UInt64
        var sequence: UInt64
        var element: Element

        func precedes(_ other: Entry) -> Bool {
            (deadline, sequence) < (other.deadline, other.sequence)
        }
    }

    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The earliest deadline, if any.
    var nextDeadline: UInt64? { entries.first?.deadline }

    /// Adds `element`; returns whether it is now the earliest (whoever sleeps until the
    /// earliest deadline has to be told).
    @discardableResult
    mutating func insert(_ element: Element, deadline: UInt64) -> Bool {
        entries.append(Entry(deadline: deadline, sequence: nextSequence, element: element))
        nextSequence &+= 1
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
        return child == 0
    }

    /// Removes and returns the earliest element if its deadline is at or before `now`.
    mutating func popDue(now: UInt64) -> Element? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        guard !entries.isEmpty else { return first.element }
        entries[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].precedes(entries[smallest]) { smallest = left }
            if right < entries.count, entries[right].precedes(entries[smallest]) { smallest = right }
            if smallest == parent { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return first.element
    }
}
