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

/// The flood gate: what passes, when the owner hears of a burst, and when it is over.
@Suite struct FloodGateTests {
    let start = ContinuousClock.now

    @Test func tenPassAtOnceThenABurstIsToldOnceAndEndsAfterAQuietInterval() {
        var gate = FloodGate()
        var verdicts: [FloodGate.Verdict] = []
        for _ in 0..<13 { verdicts.append(gate.admit(now: start)) }
        #expect(verdicts.prefix(10).allSatisfy { $0 == .admit })
        #expect(Array(verdicts.suffix(3)) == [.drop(burstStarted: true), .drop(burstStarted: false), .drop(burstStarted: false)])
        #expect(gate.check() == .stillFlooding)
        // Five a second refill: one more passes 200 ms later, and the next is a drop again.
        #expect(gate.admit(now: start + .milliseconds(200)) == .admit)
        #expect(gate.admit(now: start + .milliseconds(200)) == .drop(burstStarted: false))
        #expect(gate.check() == .stillFlooding)
        #expect(gate.check() == .over(dropped: 4))
        #expect(gate.check() == .quiet)
        #expect(!gate.isDropping)
    }
}

/// Requests in flight: bounded per link, answered only from their own link, failed with it.
@Suite struct RequestsInFlightTests {
    @Test func idsAreUniqueAnswersCountOnlyFromTheirLinkAndAClosedLinkFailsItsOwn() {
        var requests = RequestsInFlight<String>(perLink: 2)
        let first = requests.start(on: 1, waiter: "a")
        let second = requests.start(on: 1, waiter: "b")
        let third = requests.start(on: 1, waiter: "c")
        let other = requests.start(on: 2, waiter: "d")
        #expect(first != nil && second != nil && first != second)
        #expect(third == nil, "a third request on one link")
        #expect(other != nil)
        let forged = requests.answered(first!, on: 2)
        #expect(forged == nil, "an answer from another link counts")
        let answer = requests.answered(first!, on: 1)
        #expect(answer == "a")
        let failed = requests.takeAll(on: 1)
        #expect(failed.map(\.waiter) == ["b"])
        let late = requests.take(second!)
        #expect(late == nil)
        #expect(requests.count == 1)
    }
}
