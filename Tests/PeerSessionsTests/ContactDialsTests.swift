import Foundation
import Testing
import PeerSessions

/// The internet scope's dial rules on made-up instants, with the jitter pinned where a
/// test reads exact waits.
@Suite struct ContactDialsTests {
    let start = ContinuousClock.now

    @Test func backOffDoublesFromOneSecondToFiveMinutesWithBoundedJitter() {
        let dials = ContactDials()
        for attempts in 0..<30 {
            let base = min(300.0, pow(2.0, Double(attempts)))
            for _ in 0..<20 {
                let delay = dials.delay(afterAttempts: attempts)
                let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
                #expect(seconds >= base * 0.8 - 0.001 && seconds <= min(300, base * 1.2) + 0.001, "attempt \(attempts): \(seconds) s")
            }
        }
    }

    @Test func signingInStartsFourRoundsAtOnceAndTheRestAsRoundsEnd() {
        var dials = ContactDials(jitter: { 1 })
        let first = dials.start(["a", "b", "c", "d", "e", "f"], now: start)
        #expect(first == ["a", "b", "c", "d"])
        let next = dials.roundFinished("b", reached: false, now: start)
        #expect(next == ["e"])
        #expect(dials.roundFinished("a", reached: true, now: start) == ["f"])
        // b failed once: its next round is 2 s later, on the timer.
        #expect(dials.nextDeadline == start + .seconds(2))
        #expect(dials.deadlinePassed(now: start + .milliseconds(1_999)).isEmpty)
        #expect(dials.deadlinePassed(now: start + .seconds(2)).isEmpty, "four rounds are still under way")
        _ = dials.roundFinished("c", reached: nil, now: start + .seconds(2))
        #expect(dials.isDialling("b"))
    }

    @Test func aLinkThatHeldResetsTheBackOffAndOneThatDroppedAtOnceDoesNot() {
        var dials = ContactDials(jitter: { 1 })
        _ = dials.start(["grace"], now: start)
        for round in 0..<3 {
            _ = dials.roundFinished("grace", reached: false, now: start)
            _ = dials.deadlinePassed(now: start + .seconds(3600 * (round + 1)))
        }
        #expect(dials.failedRounds("grace") == 3)
        dials.connected("grace", now: start)
        _ = dials.disconnected("grace", now: start + .seconds(5))
        #expect(dials.failedRounds("grace") == 3)
        #expect(dials.nextDeadline == start + .seconds(5) + .seconds(8))
        dials.connected("grace", now: start + .seconds(100))
        _ = dials.disconnected("grace", now: start + .seconds(200))
        #expect(dials.failedRounds("grace") == 0)
        #expect(dials.nextDeadline == start + .seconds(201))
    }

    @Test func signingOutAndTheNetworkChangingReshapeThePlan() {
        var dials = ContactDials(jitter: { 1 })
        _ = dials.start(["grace"], now: start)
        _ = dials.roundFinished("grace", reached: false, now: start)
        #expect(dials.nextDeadline != nil)
        #expect(dials.networkChanged(now: start + .milliseconds(10)) == ["grace"])
        _ = dials.roundFinished("grace", reached: false, now: start)
        dials.stop()
        #expect(dials.nextDeadline == nil)
        #expect(dials.contactNeedsDial("grace", now: start).isEmpty, "dialled while signed out")
    }
}
