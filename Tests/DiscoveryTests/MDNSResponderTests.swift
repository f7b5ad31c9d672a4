import NIOCore
import Testing

@testable import Discovery

/// The responder and browser state machines wired together on a simulated link, with a
/// manual clock: no sockets, no waiting.
@Suite struct MDNSResponderTests {
    static let link = MDNSInterface(index: 1, name: "sim0", addresses: [.init(bytes: [192, 0, 2, 1], prefixLength: 24)])
    static let service = ServiceAnnouncement(instanceName: "Alice", port: 4242, txt: ["v": "1", "pn": "Alice"])

    static func incoming(_ packet: MDNSOutgoingPacket, from last: UInt8 = 1) -> MDNSIncomingPacket {
        MDNSIncomingPacket(message: packet.message, source: MDNSEndpoint(address: [192, 0, 2, last], port: 5353), interfaceIndex: 1)
    }

    static func sends(_ actions: [MDNSResponder.Action]) -> [MDNSOutgoingPacket] {
        actions.compactMap { if case .send(let packet) = $0 { packet } else { nil } }
    }

    /// Runs the responder's timer until it has nothing left, collecting what it sends.
    static func runUntilIdle(_ responder: inout MDNSResponder, from start: NIODeadline) -> (packets: [MDNSOutgoingPacket], end: NIODeadline) {
        var now = start
        var packets: [MDNSOutgoingPacket] = []
        for _ in 0..<100 {
            guard let next = responder.nextDeadline else { break }
            now = max(now, next)
            packets += sends(responder.timerFired(now: now))
        }
        return (packets, now)
    }

    @Test func probesThreeTimesThenAnnouncesTwiceThenStaysQuiet() {
        var responder = MDNSResponder(random: MDNSRandom(seed: 1))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        _ = responder.setInterfaces([Self.link], now: start)
        _ = responder.publish(Self.service, now: start)
        let (packets, end) = Self.runUntilIdle(&responder, from: start)
        let probes = packets.filter { !$0.message.isResponse }
        let announcements = packets.filter { $0.message.isResponse }
        #expect(probes.count == 3)
        #expect(probes.first?.message.questions.first?.unicastResponse == true)
        #expect(probes.allSatisfy { $0.message.authorities.contains { $0.type == .srv } })
        #expect(announcements.count == 2)
        #expect(announcements[0].message.answers.contains { $0.type == .a && $0.data == .a([192, 0, 2, 1]) && $0.cacheFlush })
        #expect(end - start >= .milliseconds(750) + .seconds(1))
        #expect(responder.nextDeadline == nil, "nothing periodic once announced")
    }

    @Test func conflictingAnswerWhileProbingRenames() {
        var responder = MDNSResponder(random: MDNSRandom(seed: 2))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        _ = responder.setInterfaces([Self.link], now: start)
        _ = responder.publish(Self.service, now: start)
        let other = DNSResourceRecord(
            name: MDNSResponder.serviceTypeName.prepending("Alice"), type: .srv, cacheFlush: true, ttl: 120,
            data: .srv(priority: 0, weight: 0, port: 9, target: DNSName(dotted: "other.local")))
        let actions = responder.receive(
            MDNSIncomingPacket(message: DNSMessage(flags: DNSMessage.responseFlags, answers: [other]), source: MDNSEndpoint(address: [192, 0, 2, 9], port: 5353), interfaceIndex: 1),
            now: start + .milliseconds(300))
        #expect(actions.contains(.renamed("Alice (2)")))
        #expect(MDNSResponder.nextName(after: "Alice (2)") == "Alice (3)")
        #expect(responder.instanceName == "Alice (2)")
    }

    @Test func ourOwnEchoIsNoConflict() {
        var responder = MDNSResponder(random: MDNSRandom(seed: 3))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        _ = responder.setInterfaces([Self.link], now: start)
        _ = responder.publish(Self.service, now: start)
        var now = responder.nextDeadline!
        let probe = Self.sends(responder.timerFired(now: now))[0]
        now = now + .milliseconds(1)
        #expect(Self.sends(responder.receive(Self.incoming(probe), now: now)).isEmpty)
        let (packets, _) = Self.runUntilIdle(&responder, from: now)
        for packet in packets { #expect(responder.receive(Self.incoming(packet), now: now).isEmpty) }
        #expect(responder.instanceName == "Alice")
    }

    @Test func tieBreakFollowsLexicographicOrder() {
        let name = DNSName(dotted: "x.local")
        let low = [DNSResourceRecord(name: name, type: .a, ttl: 1, data: .a([192, 0, 2, 1]))]
        let high = [DNSResourceRecord(name: name, type: .a, ttl: 1, data: .a([192, 0, 2, 2]))]
        #expect(MDNSResponder.compare(low, high) == .theirWin)
        #expect(MDNSResponder.compare(high, low) == .ourWin)
        #expect(MDNSResponder.compare(low, low) == .equal)
        #expect(MDNSResponder.compare(low, low + high) == .theirWin)
    }

    static func announced() -> (MDNSResponder, NIODeadline) {
        var responder = MDNSResponder(random: MDNSRandom(seed: 4))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        _ = responder.setInterfaces([Self.link], now: start)
        _ = responder.publish(Self.service, now: start)
        let (_, end) = Self.runUntilIdle(&responder, from: start)
        return (responder, end + .seconds(5))
    }

    @Test func sharedAnswersAreDelayedAndCarryAdditionals() {
        var (responder, now) = Self.announced()
        let query = DNSMessage(questions: [DNSQuestion(name: MDNSResponder.serviceTypeName, type: .ptr)])
        let immediate = responder.receive(MDNSIncomingPacket(message: query, source: MDNSEndpoint(address: [192, 0, 2, 7], port: 5353), interfaceIndex: 1), now: now)
        #expect(Self.sends(immediate).isEmpty)
        let due = responder.nextDeadline!
        #expect(due - now >= .milliseconds(20) && due - now <= .milliseconds(120))
        now = due
        let answer = Self.sends(responder.timerFired(now: now))
        #expect(answer.count == 1)
        #expect(answer[0].message.answers.map(\.type) == [.ptr])
        #expect(Set(answer[0].message.additionals.map(\.type)) == [.srv, .txt, .a])
    }

    @Test func knownAnswerSuppressesTheReply() {
        var (responder, now) = Self.announced()
        let pointer = DNSResourceRecord(name: MDNSResponder.serviceTypeName, type: .ptr, ttl: 4000, data: .ptr(MDNSResponder.serviceTypeName.prepending("Alice")))
        let query = DNSMessage(questions: [DNSQuestion(name: MDNSResponder.serviceTypeName, type: .ptr)], answers: [pointer])
        #expect(responder.receive(MDNSIncomingPacket(message: query, source: MDNSEndpoint(address: [192, 0, 2, 7], port: 5353), interfaceIndex: 1), now: now).isEmpty)
        #expect(responder.nextDeadline == nil)
        // A known answer with less than half the TTL left does not suppress.
        var stale = pointer
        stale.ttl = 100
        let again = DNSMessage(questions: query.questions, answers: [stale])
        _ = responder.receive(MDNSIncomingPacket(message: again, source: MDNSEndpoint(address: [192, 0, 2, 7], port: 5353), interfaceIndex: 1), now: now)
        now = responder.nextDeadline!
        #expect(Self.sends(responder.timerFired(now: now)).count == 1)
    }

    @Test func legacyUnicastQueryGetsADirectShortTTLAnswer() {
        var (responder, now) = Self.announced()
        let source = MDNSEndpoint(address: [192, 0, 2, 7], port: 40000)
        let query = DNSMessage(id: 77, questions: [DNSQuestion(name: MDNSResponder.serviceTypeName.prepending("Alice"), type: .srv)])
        let reply = Self.sends(responder.receive(MDNSIncomingPacket(message: query, source: source, interfaceIndex: 1), now: now))
        #expect(reply.count == 1)
        #expect(reply[0].destination == .unicast(source))
        #expect(reply[0].message.id == 77)
        #expect(reply[0].message.answers.allSatisfy { $0.ttl <= 10 && !$0.cacheFlush })
        now = now + .seconds(1)
    }

    @Test func withdrawSendsGoodbyes() {
        var (responder, now) = Self.announced()
        let goodbyes = Self.sends(responder.withdraw(now: now))
        #expect(goodbyes.count == 1)
        #expect(goodbyes[0].message.answers.allSatisfy { $0.ttl == 0 })
        #expect(goodbyes[0].message.answers.contains { $0.type == .ptr })
        now = now + .seconds(1)
        #expect(responder.nextDeadline == nil)
    }

    static func ptrQuery(from last: UInt8, unicastResponse: Bool = false) -> MDNSIncomingPacket {
        let query = DNSMessage(questions: [DNSQuestion(name: MDNSResponder.serviceTypeName, type: .ptr, unicastResponse: unicastResponse)])
        return MDNSIncomingPacket(message: query, source: MDNSEndpoint(address: [192, 0, 2, last], port: 5353), interfaceIndex: 1)
    }

    /// Answers the PTR query of one browser by multicast, the way a busy link has them.
    static func answerSomeoneElse(_ responder: inout MDNSResponder, at now: NIODeadline) -> NIODeadline {
        _ = responder.receive(Self.ptrQuery(from: 7), now: now)
        let sent = responder.nextDeadline!
        #expect(Self.sends(responder.timerFired(now: sent)).first?.message.answers.map(\.type) == [.ptr])
        return sent
    }

    @Test func answerHeldBackByTheOneSecondRuleGoesWhenTheSecondIsOver() {
        var (responder, now) = Self.announced()
        let first = Self.answerSomeoneElse(&responder, at: now)
        // A second browser asks 300 ms later: RFC 6762 §6 forbids multicasting the PTR again
        // so soon, so the answer waits for the second to be over, and is not lost.
        now = first + .milliseconds(300)
        #expect(Self.sends(responder.receive(Self.ptrQuery(from: 8), now: now)).isEmpty)
        let due = responder.nextDeadline!
        #expect(Self.sends(responder.timerFired(now: due)).isEmpty, "not twice within a second")
        #expect(responder.nextDeadline == first + .seconds(1))
        #expect(Self.sends(responder.timerFired(now: first + .milliseconds(999))).isEmpty)
        let late = Self.sends(responder.timerFired(now: first + .seconds(1)))
        #expect(late.count == 1)
        #expect(late.first?.destination == .multicast(.ipv4))
        #expect(late.first?.message.answers.map(\.type) == [.ptr])
        #expect(Set(late.first?.message.additionals.map(\.type) ?? []) == [.srv, .txt, .a])
        #expect(responder.nextDeadline == nil)
    }

    @Test func heldBackAnswerMergesWithLaterQuestions() {
        var (responder, now) = Self.announced()
        let first = Self.answerSomeoneElse(&responder, at: now)
        now = first + .milliseconds(200)
        _ = responder.receive(Self.ptrQuery(from: 8), now: now)
        _ = responder.timerFired(now: responder.nextDeadline!)
        // An SRV question 500 ms later: the SRV (not multicast in this second as an answer)
        // goes at once, the PTR still at first + 1 s, in one response, not one per asker.
        now = first + .milliseconds(700)
        let srvQuery = DNSMessage(questions: [DNSQuestion(name: MDNSResponder.serviceTypeName.prepending("Alice"), type: .srv)])
        let srv = Self.sends(responder.receive(MDNSIncomingPacket(message: srvQuery, source: MDNSEndpoint(address: [192, 0, 2, 9], port: 5353), interfaceIndex: 1), now: now))
        #expect(srv.flatMap { $0.message.answers.map(\.type) } == [.srv])
        _ = responder.receive(Self.ptrQuery(from: 9), now: now + .milliseconds(10))
        var packets: [MDNSOutgoingPacket] = []
        for _ in 0..<10 {
            guard let next = responder.nextDeadline else { break }
            packets += Self.sends(responder.timerFired(now: next))
            #expect(next <= first + .seconds(1) || !packets.isEmpty)
        }
        #expect(packets.count == 1)
        #expect(packets.first?.message.answers.map(\.type) == [.ptr])
    }

    @Test func unicastQuestionGetsAnImmediateUnicastAnswerWhenTheRecordWentOutRecently() {
        var (responder, now) = Self.announced()
        let first = Self.answerSomeoneElse(&responder, at: now)
        // A new browser's first query is QU (§5.4): 100 ms after the multicast answer it is
        // answered directly, at once, not after the one-second hold.
        var browser = MDNSBrowser(random: MDNSRandom(seed: 8))
        now = first + .milliseconds(100)
        _ = browser.setInterfaces([Self.link], now: now)
        browser.start(now: now)
        now = browser.nextDeadline!
        let queries = browser.timerFired(now: now).compactMap { if case .send(let packet) = $0 { packet } else { nil } }
        #expect(queries.count == 1)
        #expect(queries.first?.message.questions.first?.unicastResponse == true)
        let source = MDNSEndpoint(address: [192, 0, 2, 8], port: 5353)
        let reply = Self.sends(responder.receive(MDNSIncomingPacket(message: queries[0].message, source: source, interfaceIndex: 1), now: now))
        #expect(reply.count == 1)
        #expect(reply.first?.destination == .unicast(source))
        #expect(responder.nextDeadline == nil, "nothing else owed")
        var found: [DiscoveredService] = []
        for packet in reply {
            for action in browser.receive(Self.incoming(packet), now: now) { if case .found(let service) = action { found.append(service) } }
        }
        #expect(found.map(\.instanceName) == ["Alice"])
        // Later queries of the same browse are ordinary (QM).
        let second = browser.nextDeadline!
        let later = browser.timerFired(now: second).compactMap { if case .send(let packet) = $0 { packet } else { nil } }
        #expect(later.allSatisfy { $0.message.questions.allSatisfy { !$0.unicastResponse } })
    }

    @Test func unicastQuestionForARecordNotMulticastRecentlyIsAnsweredByMulticast() {
        var responder = MDNSResponder(ttls: .init(hostRecords: 8, otherRecords: 8), random: MDNSRandom(seed: 9))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        _ = responder.setInterfaces([Self.link], now: start)
        _ = responder.publish(Self.service, now: start)
        // Announced more than a quarter of the 8 s TTL ago: §5.4 says multicast.
        let now = Self.runUntilIdle(&responder, from: start).end + .seconds(3)
        _ = responder.receive(Self.ptrQuery(from: 8, unicastResponse: true), now: now)
        let answer = Self.sends(responder.timerFired(now: responder.nextDeadline!))
        #expect(answer.first?.destination == .multicast(.ipv4))
    }

    @Test func browserTakesTheAnnouncementOfAPeerThatWasProbingWhenItAsked() {
        // The peer probes (and answers nothing) while the browser asks; its first
        // announcement is enough, without waiting for the browser's next query.
        var responder = MDNSResponder(random: MDNSRandom(seed: 10))
        var browser = MDNSBrowser(random: MDNSRandom(seed: 11))
        var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        _ = responder.setInterfaces([Self.link], now: now)
        _ = browser.setInterfaces([Self.link], now: now)
        _ = responder.publish(Self.service, now: now)
        browser.start(now: now)
        var foundAt: NIODeadline?
        var firstAnnouncement: NIODeadline?
        for _ in 0..<40 where foundAt == nil {
            guard let next = [browser.nextDeadline, responder.nextDeadline].compactMap({ $0 }).min() else { break }
            now = max(now, next)
            for query in browser.timerFired(now: now).compactMap({ action -> MDNSOutgoingPacket? in if case .send(let packet) = action { packet } else { nil } }) {
                #expect(Self.sends(responder.receive(Self.incoming(query, from: 2), now: now)).isEmpty, "quiet while probing")
            }
            for packet in Self.sends(responder.timerFired(now: now)) where packet.message.isResponse {
                if firstAnnouncement == nil { firstAnnouncement = now }
                for action in browser.receive(Self.incoming(packet), now: now) { if case .found = action { foundAt = now } }
            }
        }
        #expect(firstAnnouncement != nil)
        #expect(foundAt == firstAnnouncement)
    }

    // MARK: - Browser against the responder

    @Test func browserFindsAndLosesOnGoodbyeAndBacksOff() {
        var (responder, now) = Self.announced()
        var browser = MDNSBrowser(random: MDNSRandom(seed: 5))
        _ = browser.setInterfaces([Self.link], now: now)
        browser.start(now: now)
        var found: [DiscoveredService] = []
        var lost: [String] = []
        var queryTimes: [NIODeadline] = []
        for _ in 0..<40 {
            let deadlines = [browser.nextDeadline, responder.nextDeadline].compactMap { $0 }
            guard let next = deadlines.min(), next < now + .seconds(20) else { break }
            now = max(now, next)
            for action in browser.timerFired(now: now) {
                guard case .send(let query) = action else { continue }
                if query.message.questions.first?.type == .ptr { queryTimes.append(now) }
                _ = responder.receive(Self.incoming(query, from: 2), now: now)
            }
            for packet in Self.sends(responder.timerFired(now: now)) {
                for action in browser.receive(Self.incoming(packet), now: now) {
                    if case .found(let service) = action { found.append(service) }
                }
            }
        }
        #expect(found.count == 1)
        #expect(found.first?.instanceName == "Alice")
        #expect(found.first?.addresses == ["192.0.2.1"])
        #expect(found.first?.txt == ["v": "1", "pn": "Alice"])
        #expect(found.first?.port == 4242)
        // Back-off: the gaps between browse queries double.
        let gaps = zip(queryTimes.dropFirst(), queryTimes).map { ($0 - $1).nanoseconds / 1_000_000_000 }
        #expect(gaps.starts(with: [1, 2, 4]))
        // Known answers: later queries list the PTR we hold.
        for packet in Self.sends(responder.withdraw(now: now)) {
            for action in browser.receive(Self.incoming(packet), now: now) {
                if case .lost(let name) = action { lost.append(name) }
            }
        }
        let expiry = browser.nextDeadline!
        #expect(expiry - now <= .seconds(1))
        for action in browser.timerFired(now: expiry) {
            if case .lost(let name) = action { lost.append(name) }
        }
        #expect(lost == ["Alice"])
    }

    @Test func browserLimitsInstancesAndLogsOnce() {
        var browser = MDNSBrowser(limits: .init(instances: 3, pendingResolutions: 2, cachedRecords: 64), random: MDNSRandom(seed: 6))
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        _ = browser.setInterfaces([Self.link], now: now)
        browser.start(now: now)
        var logs = 0
        for number in 0..<50 {
            let record = DNSResourceRecord(name: MDNSResponder.serviceTypeName, type: .ptr, ttl: 100, data: .ptr(MDNSResponder.serviceTypeName.prepending("peer \(number)")))
            let packet = MDNSIncomingPacket(message: DNSMessage(flags: DNSMessage.responseFlags, answers: [record]), source: MDNSEndpoint(address: [192, 0, 2, 9], port: 5353), interfaceIndex: 1)
            logs += browser.receive(packet, now: now).filter { if case .log = $0 { true } else { false } }.count
        }
        #expect(logs >= 1 && logs <= 2)
        #expect(browser.cache.count <= 64)
        #expect(browser.resolutionsCount <= 2)
    }

    @Test func cacheExpiresAndAsksAtEightyPercent() {
        var cache = MDNSCache(capacity: 2, random: MDNSRandom(seed: 7))
        let now = NIODeadline.uptimeNanoseconds(0)
        let record = DNSResourceRecord(name: DNSName(dotted: "a.local"), type: .a, ttl: 100, data: .a([192, 0, 2, 1]))
        #expect(cache.insert(record, interfaceIndex: 1, now: now) == .added)
        #expect(cache.refreshesDue(now: now + .seconds(79)).isEmpty)
        #expect(cache.refreshesDue(now: now + .seconds(83)).count == 1)
        #expect(cache.refreshesDue(now: now + .seconds(83)).isEmpty, "each point asks once")
        #expect(cache.expire(now: now + .seconds(99)).isEmpty)
        #expect(cache.expire(now: now + .seconds(100)).count == 1)
        // Bounded: a third record evicts one.
        for last: UInt8 in 1...3 {
            cache.insert(DNSResourceRecord(name: DNSName(dotted: "a.local"), type: .a, ttl: 100, data: .a([192, 0, 2, last])), interfaceIndex: 1, now: now)
        }
        #expect(cache.count == 2)
    }
}
