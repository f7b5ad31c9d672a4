import NIOCore
import PeerProtocol
import Testing

@Suite("Session state machine")
struct PeerSessionStateMachineTests {
    typealias Machine = PeerSessionStateMachine
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let configuration = PeerSessionConfiguration(maximumRequestsInFlight: 2, helloTimeout: .seconds(10), keepaliveInterval: .seconds(15), idleTimeout: .seconds(50))

    private func established() -> Machine {
        var machine = Machine(localHello: SampleMessages.hello, configuration: configuration)
        _ = machine.start(now: start)
        _ = machine.received(.message(.hello(SampleMessages.hello)), now: start)
        return machine
    }

    private func closeCode(_ action: Machine.Action) -> PeerProtocolError.Code? {
        if case .close(_, let error?) = action { return error.code }
        return nil
    }

    @Test("start sends the hello and sets the hello deadline")
    func startSendsHello() {
        var machine = Machine(localHello: SampleMessages.hello, configuration: configuration)
        #expect(machine.nextDeadline == nil)
        #expect(machine.start(now: start) == .write(.hello(SampleMessages.hello)))
        #expect(machine.nextDeadline == start + .seconds(10))
        #expect(machine.stateName == "awaiting hello")
    }

    @Test("the peer's hello establishes the highest common version and shared capabilities")
    func negotiation() {
        var machine = Machine(localHello: PeerHello(versions: 1...3, capabilities: [.objects, .presence], softwareVersion: "a"), configuration: configuration)
        _ = machine.start(now: start)
        let remote = PeerHello(versions: 2...9, capabilities: [.objects, PeerCapability(rawValue: "future")], softwareVersion: "b")
        let action = machine.received(.message(.hello(remote)), now: start)
        let expected = PeerSessionParameters(version: 3, sharedCapabilities: [.objects], remoteHello: remote)
        #expect(action == .sessionEstablished(expected))
        #expect(machine.parameters == expected)
    }

    @Test("disjoint versions close with versionMismatch and a goodbye saying so")
    func versionMismatch() {
        var machine = Machine(localHello: PeerHello(versions: 1...2, capabilities: [], softwareVersion: "a"), configuration: configuration)
        _ = machine.start(now: start)
        let action = machine.received(.message(.hello(PeerHello(versions: 3...4, capabilities: [], softwareVersion: "b"))), now: start)
        guard case .close(let goodbye?, let error?) = action else {
            Issue.record("expected a close, got \(action)")
            return
        }
        #expect(error.code == .versionMismatch)
        #expect(goodbye.reason == .versionMismatch)
        #expect(machine.isClosingOrClosed)
    }

    @Test("anything but hello before the hello is unexpected; unknown types are skipped")
    func beforeHello() {
        var machine = Machine(localHello: SampleMessages.hello, configuration: configuration)
        _ = machine.start(now: start)
        #expect(machine.received(.unknown(type: PeerMessageType(rawValue: 0x7777), flags: []), now: start) == .none)
        #expect(closeCode(machine.received(.message(.profileRequest), now: start)) == .unexpectedMessage)
        #expect(machine.received(.message(.ping(nonce: 1)), now: start) == .none, "closing machines ignore input")
    }

    @Test("a goodbye before the hello is delivered and closes")
    func goodbyeBeforeHello() {
        var machine = Machine(localHello: SampleMessages.hello, configuration: configuration)
        _ = machine.start(now: start)
        let goodbye = PeerGoodbye(reason: .notAllowed)
        #expect(machine.received(.message(.goodbye(goodbye)), now: start) == .deliverGoodbyeAndClose(goodbye))
        #expect(machine.nextDeadline == nil)
    }

    @Test("no hello by the deadline: helloTimeout; just before it: nothing")
    func helloTimeout() {
        var machine = Machine(localHello: SampleMessages.hello, configuration: configuration)
        _ = machine.start(now: start)
        #expect(machine.deadlinePassed(now: start + .seconds(10) - .nanoseconds(1)) == .none)
        let action = machine.deadlinePassed(now: start + .seconds(10))
        #expect(closeCode(action) == .helloTimeout)
        if case .close(let goodbye?, _) = action { #expect(goodbye.reason == .timeout) }
    }

    @Test("a second hello is unexpected")
    func secondHello() {
        var machine = established()
        #expect(closeCode(machine.received(.message(.hello(SampleMessages.hello)), now: start)) == .unexpectedMessage)
    }

    @Test("ping is answered with the same nonce; messages are delivered")
    func establishedTraffic() {
        var machine = established()
        #expect(machine.received(.message(.ping(nonce: 42)), now: start) == .write(.pong(nonce: 42)))
        #expect(machine.received(.message(.pong(nonce: 1)), now: start) == .none)
        #expect(machine.received(.message(.profile(SampleMessages.profile)), now: start) == .deliver(.profile(SampleMessages.profile)))
        #expect(machine.received(.message(.listeningPort(46773)), now: start) == .deliver(.listeningPort(46773)))
        #expect(machine.received(.unknown(type: PeerMessageType(rawValue: 0x7000), flags: []), now: start) == .none)
    }

    @Test("keepalive: ping after each quiet interval, drop at the idle timeout")
    func keepalive() {
        var machine = established()
        #expect(machine.nextDeadline == start + .seconds(15))
        #expect(machine.deadlinePassed(now: start + .seconds(14)) == .none)
        guard case .write(.ping(let nonce)) = machine.deadlinePassed(now: start + .seconds(15)) else {
            Issue.record("expected a ping")
            return
        }
        #expect(machine.nextDeadline == start + .seconds(30))
        guard case .write(.ping(let second)) = machine.deadlinePassed(now: start + .seconds(30)) else {
            Issue.record("expected a second ping")
            return
        }
        #expect(second != nonce)
        _ = machine.deadlinePassed(now: start + .seconds(45))
        #expect(machine.nextDeadline == start + .seconds(50))
        #expect(closeCode(machine.deadlinePassed(now: start + .seconds(50))) == .idleTimeout)
    }

    @Test("anything received resets the idle clock")
    func trafficResetsIdle() {
        var machine = established()
        _ = machine.deadlinePassed(now: start + .seconds(15))
        _ = machine.received(.unknown(type: PeerMessageType(rawValue: 0x7000), flags: []), now: start + .seconds(40))
        #expect(machine.deadlinePassed(now: start + .seconds(50)) == .none)
        #expect(machine.nextDeadline == start + .seconds(55))
    }

    @Test("the peer's requests in flight are limited; answering frees a slot")
    func remoteRequestLimit() {
        var machine = established()
        let request = { (id: UInt32) in PeerMessage.objectRequest(ObjectRequest(requestID: id, objectID: "a")) }
        #expect(machine.received(.message(request(1)), now: start) == .deliver(request(1)))
        #expect(closeCode(machine.received(.message(request(1)), now: start)) == .malformed, "a duplicate id in flight is malformed")

        machine = established()
        _ = machine.received(.message(request(1)), now: start)
        _ = machine.received(.message(request(2)), now: start)
        #expect(machine.remoteRequestsInFlight == 2)
        #expect(machine.willSend(.objectResponse(ObjectResponse(requestID: 1, result: .notFound))) == .write)
        #expect(machine.received(.message(request(3)), now: start) == .deliver(request(3)))
        #expect(closeCode(machine.received(.message(request(4)), now: start)) == .limitExceeded)
    }

    @Test("our requests in flight are limited; unsolicited responses are unexpected")
    func localRequestLimit() {
        var machine = established()
        let request = { (id: UInt32) in PeerMessage.objectRequest(ObjectRequest(requestID: id, objectID: "a")) }
        #expect(machine.willSend(request(1)) == .write)
        #expect(machine.willSend(request(2)) == .write)
        guard case .reject(let error) = machine.willSend(request(3)) else {
            Issue.record("a third request must be rejected")
            return
        }
        #expect(error.code == .limitExceeded)
        let response = PeerMessage.objectResponse(ObjectResponse(requestID: 2, result: .notAllowed))
        #expect(machine.received(.message(response), now: start) == .deliver(response))
        #expect(machine.localRequestsInFlight == 1)
        #expect(closeCode(machine.received(.message(response), now: start)) == .unexpectedMessage)
    }

    @Test("the application may not send hello or keepalives, nor anything before the hello")
    func illegalSends() {
        var machine = Machine(localHello: SampleMessages.hello, configuration: configuration)
        _ = machine.start(now: start)
        for message in [PeerMessage.hello(SampleMessages.hello), .ping(nonce: 1), .pong(nonce: 1), .profileRequest] {
            guard case .reject(let error) = machine.willSend(message) else {
                Issue.record("\(message.type) must be rejected")
                continue
            }
            #expect(error.code == .unexpectedMessage)
        }
        var other = established()
        #expect(other.willSend(.objectResponse(ObjectResponse(requestID: 9, result: .notFound))) != .write)
        #expect(other.willSend(.goodbye(PeerGoodbye(reason: .signedOut))) == .writeThenClose)
        #expect(other.willSend(.profileRequest) != .write, "nothing after the goodbye")
    }

    @Test("a decoder error closes with a protocolError goodbye; later events are ignored")
    func errorCaught() {
        var machine = established()
        let error = PeerProtocolError.frameTooLarge(length: 1 << 30, maximum: 262_144)
        guard case .close(let goodbye?, let reported) = machine.errorCaught(error) else {
            Issue.record("expected a close")
            return
        }
        #expect(goodbye.reason == .protocolError)
        #expect(goodbye.message.utf8.count <= PeerProtocolLimits.goodbyeMessageMaximumBytes)
        #expect(reported == error)
        #expect(machine.errorCaught(error) == .none)
        #expect(machine.deadlinePassed(now: start + .seconds(100)) == .none)
    }

    @Test("local close sends the goodbye once")
    func localClose() {
        var machine = established()
        let goodbye = PeerGoodbye(reason: .shuttingDown)
        #expect(machine.close(goodbye) == .close(goodbye: goodbye, error: nil))
        #expect(machine.close(goodbye) == .close(goodbye: nil, error: nil))
    }

    @Test("a keepalive unanswered for an interval makes the peer stale; anything received ends it")
    func staleness() {
        var machine = established()
        _ = machine.deadlinePassed(now: start + .seconds(15))
        #expect(!machine.isPeerStale, "one ping out is not yet a missed keepalive")
        _ = machine.deadlinePassed(now: start + .seconds(30))
        #expect(machine.isPeerStale)
        _ = machine.received(.message(.pong(nonce: 1)), now: start + .seconds(31))
        #expect(!machine.isPeerStale)
        // A ping answered in time never makes it stale.
        _ = machine.deadlinePassed(now: start + .seconds(46))
        _ = machine.received(.message(.pong(nonce: 2)), now: start + .seconds(47))
        _ = machine.deadlinePassed(now: start + .seconds(62))
        #expect(!machine.isPeerStale)
    }

    @Test("a probe pings at once and closes when nothing arrives in time")
    func probeWithoutAnswer() {
        var machine = established()
        guard case .write(.ping) = machine.probe(now: start + .seconds(1), within: .seconds(3)) else {
            Issue.record("expected a ping")
            return
        }
        #expect(machine.nextDeadline == start + .seconds(4))
        #expect(machine.deadlinePassed(now: start + .seconds(3)) == .none)
        #expect(closeCode(machine.deadlinePassed(now: start + .seconds(4))) == .idleTimeout)
        #expect(machine.isClosingOrClosed)
    }

    @Test("a probe answered in time leaves the session as it was")
    func probeAnswered() {
        var machine = established()
        _ = machine.probe(now: start + .seconds(1), within: .seconds(3))
        #expect(machine.received(.message(.pong(nonce: 0)), now: start + .seconds(2)) == .none)
        #expect(machine.deadlinePassed(now: start + .seconds(4)) == .none)
        #expect(!machine.isClosingOrClosed)
        #expect(machine.nextDeadline == start + .seconds(17))
    }

    @Test("a probe before the session is established does nothing")
    func probeBeforeHello() {
        var machine = Machine(localHello: SampleMessages.hello, configuration: configuration)
        _ = machine.start(now: start)
        #expect(machine.probe(now: start, within: .seconds(1)) == .none)
        #expect(machine.nextDeadline == start + .seconds(10))
    }
}
