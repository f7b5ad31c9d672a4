import Testing
import PeerSessions

/// The two timing pieces every session rule stands on, on instants made up for the test.
@Suite struct TimingPrimitivesTests {
    let start = ContinuousClock.now

    /// How many of `attempts` takes at `now` the bucket grants.
    private func granted(_ bucket: inout TokenBucket, attempts: Int, at now: ContinuousClock.Instant) -> Int {
        var granted = 0
        for _ in 0..<attempts where bucket.take(now: now) { granted += 1 }
        return granted
    }

    @Test func aBucketGivesItsCapacityAtOnceThenRefillsAtItsRate() {
        var bucket = TokenBucket(capacity: 3, perSecond: 2)
        #expect(granted(&bucket, attempts: 5, at: start) == 3)
        #expect(granted(&bucket, attempts: 5, at: start + .milliseconds(500)) == 1)
        // Never more than the capacity, however long it rested.
        #expect(granted(&bucket, attempts: 10, at: start + .seconds(60)) == 3)
    }

    @Test func aTimetableHandsBackWhatIsDueSoonestFirstAndOnlyOnce() {
        var timetable = Timetable<String>()
        timetable.set("late", at: start + .seconds(3))
        timetable.set("soon", at: start + .seconds(1))
        timetable.set("moved", at: start + .seconds(9))
        timetable.set("moved", at: start + .seconds(2))
        #expect(timetable.earliest == start + .seconds(1))
        #expect(timetable.takeDue(at: start + .seconds(2)) == ["soon", "moved"])
        #expect(timetable.takeDue(at: start + .seconds(2)).isEmpty)
        timetable.cancel("late")
        #expect(timetable.earliest == nil)
        #expect(timetable.count == 0)
    }
}
