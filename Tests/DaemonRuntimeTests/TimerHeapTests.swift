@testable import DaemonRuntime
import Testing

@Suite("Timer heap and job queue")
struct TimerHeapTests {
    @Test("jobs come out earliest first, equal deadlines in insertion order, none before due")
    func order() {
        var heap = TimerHeap<String>()
        let earliest = [
            heap.insert("c", deadline: 30), heap.insert("a", deadline: 10),
            heap.insert("b", deadline: 20), heap.insert("a2", deadline: 10),
        ]
        #expect(earliest == [true, true, false, false])
        #expect(heap.nextDeadline == 10)
        let early = heap.popDue(now: 9)
        #expect(early == nil)
        var out: [String] = []
        while let next = heap.popDue(now: 25) { out.append(next) }
        #expect(out == ["a", "a2", "b"])
        #expect(heap.count == 1 && heap.nextDeadline == 30)
    }

    @Test("the queue is first in, first out across its storage compaction")
    func queue() {
        var queue = JobQueue<Int>()
        var expected = 0
        for value in 0..<500 {
            queue.append(value)
            if value % 3 == 0, let first = queue.popFirst() {
                #expect(first == expected)
                expected += 1
            }
        }
        while let first = queue.popFirst() {
            #expect(first == expected)
            expected += 1
        }
        #expect(expected == 500 && queue.isEmpty)
    }
}
