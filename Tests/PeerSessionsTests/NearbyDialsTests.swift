import Testing
import PeerSessions

/// The near-me dial rules on made-up instants: bounded claims, places for real peers among
/// fakes, short deadlines for the unproved, and redials of peers that are announced but gone.
@Suite struct NearbyDialsTests {
    typealias Dials = NearbyDials<String>
    let start = ContinuousClock.now

    func claim(_ peer: String, from source: String, instance: String? = nil, contact: Bool = false) -> Dials.Claim {
        Dials.Claim(instance: instance ?? "\(peer)-instance", peer: peer, endpoints: ["\(source):46773"], source: source, isContact: contact)
    }

    @Test func aHostAnnouncingHundredsKeepsOnlyItsShareAndARealPeerIsStillDialledAtOnce() {
        var dials = Dials()
        var ordered: [Dials.Order] = []
        for index in 0..<300 {
            ordered += dials.claimSeen(claim("fake\(index)", from: "10.0.0.66"), now: start).orders
        }
        #expect(dials.claimCount == dials.limits.claimsPerSource)
        #expect(dials.claimsRefused == 300 - dials.limits.claimsPerSource)
        // Two places for that source, each with the short deadline of a peer never proved.
        #expect(ordered.count == dials.limits.dialsAtOncePerSource)
        #expect(ordered.allSatisfy { $0.within == dials.limits.unprovedDialDeadline })
        let real = dials.claimSeen(claim("ada", from: "10.0.0.2"), now: start)
        #expect(real.kept)
        #expect(real.orders.map(\.peer) == ["ada"])
    }

    @Test func whenTheTableIsFullTheBiggestSourceGivesWayAndProvedPeersStay() {
        var limits = Dials.Limits()
        limits.claims = 4
        limits.claimsPerSource = 3
        var dials = Dials(limits: limits)
        _ = dials.claimSeen(claim("ada", from: "10.0.0.2"), now: start)
        dials.peerConnected("ada")
        for index in 0..<3 { _ = dials.claimSeen(claim("fake\(index)", from: "10.0.0.66"), now: start) }
        #expect(dials.claimCount == 4)
        // A newcomer from a third source evicts the oldest claim of the source with most.
        let outcome40 = dials.claimSeen(claim("bob", from: "10.0.0.3"), now: start)
        #expect(outcome40.kept)
        #expect(dials.isClaimed("bob") && dials.isClaimed("ada"))
        #expect(!dials.isClaimed("fake0") && dials.isClaimed("fake1"))
        // Once every source holds as many as the newcomer's would, the newcomer waits.
        _ = dials.claimSeen(claim("fake9", from: "10.0.0.3", instance: "x"), now: start)
        #expect(dials.claimCount == 4)
    }

    @Test func contactsAndProvedPeersGetTheLongDeadlineAndGoFirst() {
        var limits = Dials.Limits()
        limits.dialsAtOnce = 1
        var dials = Dials(limits: limits)
        let first = dials.claimSeen(claim("fake", from: "10.0.0.66"), now: start).orders
        #expect(first.map(\.peer) == ["fake"])
        // The one place is taken; the contact queues and is next, before a stranger seen earlier.
        _ = dials.claimSeen(claim("stranger", from: "10.0.0.5"), now: start)
        let outcome56 = dials.claimSeen(claim("carol", from: "10.0.0.4", contact: true), now: start)
        #expect(outcome56.orders.isEmpty)
        let next = dials.dialFinished("fake", failure: "timed out", now: start + .seconds(3))
        #expect(next == [.init(peer: "carol", endpoints: ["10.0.0.4:46773"], within: limits.provedDialDeadline)])
    }

    @Test func aPeerThatStaysUnreachableIsDialledAgainWithBackOffAndTheReasonIsKept() {
        var dials = Dials()
        let outcome63 = dials.claimSeen(claim("ada", from: "10.0.0.2"), now: start)
        #expect(outcome63.orders.count == 1)
        var now = start
        var waits: [Duration] = []
        for round in 1...4 {
            let outcome67 = dials.dialFinished("ada", failure: "connection refused (\(round))", now: now)
            #expect(outcome67.isEmpty)
            let deadline = try! #require(dials.nextDeadline)
            waits.append(now.duration(to: deadline))
            let outcome70 = dials.deadlinePassed(now: deadline - .milliseconds(1))
            #expect(outcome70.isEmpty)
            now = deadline
            let outcome72 = dials.deadlinePassed(now: now)
            #expect(outcome72.map(\.peer) == ["ada"])
        }
        #expect(waits == [.seconds(1), .seconds(2), .seconds(4), .seconds(8)])
        #expect(dials.unreachable == [.init(peer: "ada", instance: "ada-instance", failedDials: 4, reason: "connection refused (4)")])
        // Reaching it clears the record; the network changing resets the back-off.
        dials.peerConnected("ada")
        #expect(dials.unreachable.isEmpty)
        #expect(dials.nextDeadline == nil)
    }

    @Test func aWithdrawnClaimOfAConnectedPeerEndsNothingButAsksForAProof() {
        var dials = Dials()
        _ = dials.claimSeen(claim("ada", from: "10.0.0.2"), now: start)
        // As the owner tells it: the link is kept first, then the dial returns.
        dials.peerConnected("ada")
        _ = dials.dialFinished("ada", failure: nil, now: start)
        let outcome87 = dials.claimWithdrawn(instance: "ada-instance")
        #expect(outcome87 == "ada")
        let outcome88 = dials.claimWithdrawn(instance: "ada-instance")
        #expect(outcome88 == nil)
        #expect(!dials.isClaimed("ada"))
    }

    @Test func aPeerLostSilentlyWhileStillAnnouncedIsDialledAgainSoon() {
        var dials = Dials()
        _ = dials.claimSeen(claim("ada", from: "10.0.0.2"), now: start)
        // As the owner tells it: the link is kept first, then the dial returns.
        dials.peerConnected("ada")
        _ = dials.dialFinished("ada", failure: nil, now: start)
        let outcome97 = dials.peerDisconnected("ada", now: start + .seconds(50))
        #expect(outcome97.isEmpty)
        #expect(dials.nextDeadline == start + .seconds(51))
        let again = dials.deadlinePassed(now: start + .seconds(51))
        #expect(again == [.init(peer: "ada", endpoints: ["10.0.0.2:46773"], within: dials.limits.provedDialDeadline)])
        // Not announced any more: nobody to dial.
        var gone = Dials()
        _ = gone.claimSeen(claim("bob", from: "10.0.0.3"), now: start)
        gone.peerConnected("bob")
        _ = gone.claimWithdrawn(instance: "bob-instance")
        let outcome106 = gone.peerDisconnected("bob", now: start)
        #expect(outcome106.isEmpty)
        #expect(gone.nextDeadline == nil)
    }

    @Test func theRateLimitLetsTenAtOnceAndTheRestFollowOnTheTimer() {
        var limits = Dials.Limits()
        limits.dialsAtOncePerSource = 100
        limits.claimsPerSource = 100
        limits.dialsPerSecondPerSource = 100
        var dials = Dials(limits: limits)
        var ordered = 0
        for index in 0..<14 { ordered += dials.claimSeen(claim("p\(index)", from: "10.0.0.\(index % 2)"), now: start).orders.count }
        #expect(ordered == 10)
        let deadline = try! #require(dials.nextDeadline)
        #expect(deadline == start + .milliseconds(100))
        let outcome120 = dials.deadlinePassed(now: deadline)
        #expect(outcome120.count == 1)
        #expect(dials.dialsUnderWay == 11)
    }

    @Test func signingOutForgetsEveryClaim() {
        var dials = Dials()
        _ = dials.claimSeen(claim("ada", from: "10.0.0.2"), now: start)
        _ = dials.dialFinished("ada", failure: "refused", now: start)
        dials.reset()
        #expect(dials.claimCount == 0)
        #expect(dials.unreachable.isEmpty)
        #expect(dials.nextDeadline == nil)
    }

    @Test func oneSourceGetsTwoDialsASecondSoAnotherSourceFindsTheRateUntouched() {
        var limits = Dials.Limits()
        limits.dialsAtOncePerSource = 100
        var dials = Dials(limits: limits)
        var fakeOrders = 0
        var now = start
        for index in 0..<8 {
            let seen = dials.claimSeen(claim("fake\(index)", from: "10.0.0.66"), now: now)
            fakeOrders += seen.orders.count
            for order in seen.orders { fakeOrders += dials.dialFinished(order.peer, failure: "silent", now: now).count }
        }
        #expect(fakeOrders == 2)
        let real = dials.claimSeen(claim("ada", from: "10.0.0.2"), now: now)
        #expect(real.orders.map(\.peer) == ["ada"])
        now = now + .milliseconds(500)
        #expect(dials.nextDeadline == now)
        let later = dials.deadlinePassed(now: now)
        #expect(later.count == 1)
    }
}
