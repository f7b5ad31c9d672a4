import NIOCore

/// The publishing half of the built-in mDNS responder as a state machine without I/O
/// (RFC 6762 §8–§10, RFC 6763): it probes for the service's names, renames on conflict,
/// announces, answers queries and says goodbye. The owner feeds it packets, interface
/// changes and timer ticks and performs the actions it returns.
public struct MDNSResponder: Sendable {
    /// Record lifetimes; RFC 6762 §10 recommends 120 s for records that name a host and
    /// 75 minutes for the others. Tests shorten them.
    public struct TTLs: Sendable, Hashable {
        public var hostRecords: UInt32
        public var otherRecords: UInt32
        public init(hostRecords: UInt32 = 120, otherRecords: UInt32 = 4500) {
            self.hostRecords = hostRecords
            self.otherRecords = otherRecords
        }
    }

    /// What the owner must do.
    public enum Action: Sendable, Hashable {
        case send(MDNSOutgoingPacket)
        /// The instance name changed after a conflict.
        case renamed(String)
        /// Something a log line should say (conflicts, defences).
        case log(String)
    }

    enum Phase: Sendable, Hashable {
        case idle
        /// `sent` probes went out; the next step is due at `next`.
        case probing(sent: Int, next: NIODeadline)
        case announcing(sent: Int, next: NIODeadline)
        case announced
    }

    public static let serviceTypeName = DNSName(["_peercollab", "_tcp", "local"])
    static let serviceEnumerationName = DNSName(["_services", "_dns-sd", "_udp", "local"])

    public let ttls: TTLs
    private(set) var phase = Phase.idle
    private(set) var service: ServiceAnnouncement?
    /// The instance label after renames.
    public private(set) var instanceName = ""
    /// The host label our A/AAAA records use (`<hostLabel>.local`).
    public private(set) var hostLabel = ""
    private var interfaces: [Int32: MDNSInterface] = [:]
    private var pending: [PendingResponse] = []
    /// When each record was last multicast per interface and family (§6 rate limit, §5.4).
    private var lastMulticast: [MulticastKey: NIODeadline] = [:]
    private var conflictTimes: [NIODeadline] = []
    private var random: MDNSRandom

    struct MulticastKey: Hashable, Sendable {
        var record: DNSResourceRecord
        var interfaceIndex: Int32
        var family: MDNSFamily
    }

    struct PendingResponse: Sendable, Hashable {
        var due: NIODeadline
        var interfaceIndex: Int32
        var family: MDNSFamily
        var answers: [DNSResourceRecord]
    }

    public init(ttls: TTLs = TTLs(), random: MDNSRandom = MDNSRandom()) {
        self.ttls = ttls
        self.random = random
    }

    /// Whether the service is announced or being announced (queries are answered).
    public var ownsNames: Bool {
        switch phase {
        case .announcing, .announced: true
        default: false
        }
    }

    // MARK: - Names and records

    var instanceFullName: DNSName { Self.serviceTypeName.prepending(instanceName) }
    var hostFullName: DNSName { DNSName([hostLabel, "local"]) }

    /// A host label from an instance name: lower-case letters, digits and '-', bounded.
    static func hostLabel(for instance: String) -> String {
        var label = ""
        for scalar in instance.lowercased().unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                label.unicodeScalars.append(scalar)
            } else if !label.hasSuffix("-"), !label.isEmpty {
                label += "-"
            }
            if label.utf8.count >= 40 { break }
        }
        while label.hasSuffix("-") { label.removeLast() }
        return "peercollab-" + (label.isEmpty ? "peer" : label)
    }

    /// "Name" → "Name (2)" → "Name (3)" (RFC 6763 §9 style renaming).
    static func nextName(after name: String) -> String {
        if name.hasSuffix(")"), let open = name.lastIndex(of: "("), open > name.startIndex,
            name[name.index(before: open)] == " ",
            let number = Int(name[name.index(after: open)..<name.index(before: name.endIndex)])
        {
            return String(name[..<name.index(before: open)]) + " (\(number + 1))"
        }
        let limit = 63 - 4
        var base = name
        while base.utf8.count > limit { base.removeLast() }
        return base + " (2)"
    }

    /// Our records as seen on one interface (its own addresses only, §15).
    func records(on interfaceIndex: Int32) -> [DNSResourceRecord] {
        guard let service else { return [] }
        let instance = instanceFullName
        var records = [
            DNSResourceRecord(name: Self.serviceTypeName, type: .ptr, ttl: ttls.otherRecords, data: .ptr(instance)),
            DNSResourceRecord(name: Self.serviceEnumerationName, type: .ptr, ttl: ttls.otherRecords, data: .ptr(Self.serviceTypeName)),
            DNSResourceRecord(
                name: instance, type: .srv, cacheFlush: true, ttl: ttls.hostRecords,
                data: .srv(priority: 0, weight: 0, port: service.port, target: hostFullName)),
            DNSResourceRecord(name: instance, type: .txt, cacheFlush: true, ttl: ttls.otherRecords, data: .txt(DNSResourceRecord.txtStrings(service.txt))),
        ]
        for address in interfaces[interfaceIndex]?.addresses ?? [] {
            let data: DNSRecordData = address.family == .ipv4 ? .a(address.bytes) : .aaaa(address.bytes)
            records.append(DNSResourceRecord(name: hostFullName, type: address.family == .ipv4 ? .a : .aaaa, cacheFlush: true, ttl: ttls.hostRecords, data: data))
        }
        return records
    }

    /// All our unique records on every interface (to tell our own echo from a conflict).
    private var allUniqueRecords: [DNSResourceRecord] {
        interfaces.keys.flatMap { records(on: $0) }.filter(\.cacheFlush)
    }

    private func isOurUniqueName(_ name: DNSName) -> Bool { name == instanceFullName || name == hostFullName }

    // MARK: - Inputs

    /// Starts probing for `service` (replacing an earlier one, whose records are withdrawn).
    public mutating func publish(_ service: ServiceAnnouncement, now: NIODeadline) -> [Action] {
        var actions = self.service == nil ? [] : withdraw(now: now)
        self.service = service
        instanceName = service.instanceName
        hostLabel = Self.hostLabel(for: service.instanceName)
        actions += startProbing(now: now, delay: random.delay(milliseconds: 0...250))
        return actions
    }

    /// Sends goodbyes (TTL 0) for everything announced and forgets the service.
    public mutating func withdraw(now: NIODeadline) -> [Action] {
        defer {
            service = nil
            phase = .idle
            pending = []
        }
        guard ownsNames else { return [] }
        return interfaces.keys.sorted().map { index in
            let goodbyes = records(on: index).map { record -> DNSResourceRecord in
                var record = record
                record.ttl = 0
                return record
            }
            return .send(MDNSOutgoingPacket(message: DNSMessage(flags: DNSMessage.responseFlags, answers: goodbyes), interfaceIndex: index, destination: .multicast(nil)))
        }
    }

    /// The interfaces to work on changed. New interfaces or addresses get probes or
    /// announcements (§8.3 "whenever ... connectivity may have changed"); for a vanished
    /// interface nothing is sent (it cannot be).
    public mutating func setInterfaces(_ list: [MDNSInterface], now: NIODeadline) -> [Action] {
        let old = interfaces
        interfaces = Dictionary(list.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        pending.removeAll { interfaces[$0.interfaceIndex] == nil }
        guard service != nil, old != interfaces else { return [] }
        let grew = interfaces.contains { old[$0.key] != $0.value }
        guard grew else { return [] }
        switch phase {
        case .announced, .announcing:
            phase = .announcing(sent: 0, next: now)
            return timerFired(now: now)
        case .idle, .probing:
            return []
        }
    }

    private mutating func startProbing(now: NIODeadline, delay: TimeAmount) -> [Action] {
        pending = []
        // §8.1: after 15 conflicts within 10 s, wait 5 s before the next probe.
        conflictTimes.removeAll { now - $0 > .seconds(10) }
        let wait = conflictTimes.count >= 15 ? TimeAmount.seconds(5) : delay
        phase = .probing(sent: 0, next: now + wait)
        return []
    }

    /// Advances probing and announcing and sends answers whose delay is over.
    public mutating func timerFired(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        switch phase {
        case .probing(let sent, let next) where next <= now:
            if sent < 3 {
                for index in interfaces.keys.sorted() { actions.append(.send(probe(on: index, first: sent == 0))) }
                phase = .probing(sent: sent + 1, next: now + .milliseconds(250))
            } else {
                phase = .announcing(sent: 0, next: now)
                actions += timerFired(now: now)
            }
        case .announcing(let sent, let next) where next <= now:
            for index in interfaces.keys.sorted() {
                let records = records(on: index)
                for record in records {
                    for family in [MDNSFamily.ipv4, .ipv6] { lastMulticast[MulticastKey(record: record, interfaceIndex: index, family: family)] = now }
                }
                actions.append(.send(MDNSOutgoingPacket(message: DNSMessage(flags: DNSMessage.responseFlags, answers: records), interfaceIndex: index, destination: .multicast(nil))))
            }
            phase = sent + 1 >= 2 ? .announced : .announcing(sent: sent + 1, next: now + .seconds(1))
        default:
            break
        }
        let due = pending.filter { $0.due <= now }
        pending.removeAll { $0.due <= now }
        for response in due {
            var answers: [DNSResourceRecord] = []
            for record in response.answers {
                let key = MulticastKey(record: record, interfaceIndex: response.interfaceIndex, family: response.family)
                if let last = lastMulticast[key], now - last < .seconds(1) {
                    // §6: at most one multicast of a record per second on an interface; the
                    // answer is owed all the same, so it goes when the second is over.
                    schedule([record], interfaceIndex: response.interfaceIndex, family: response.family, due: last + .seconds(1))
                    continue
                }
                lastMulticast[key] = now
                if !answers.contains(record) { answers.append(record) }
            }
            guard !answers.isEmpty else { continue }
            let message = DNSMessage(flags: DNSMessage.responseFlags, answers: answers, additionals: additionals(for: answers, on: response.interfaceIndex))
            actions.append(.send(MDNSOutgoingPacket(message: message, interfaceIndex: response.interfaceIndex, destination: .multicast(response.family))))
        }
        lastMulticast = lastMulticast.filter { now - $0.value < .seconds(Int64(ttls.otherRecords)) }
        return actions
    }

    /// When `timerFired` next has work.
    public var nextDeadline: NIODeadline? {
        var deadline: NIODeadline? = pending.map(\.due).min()
        switch phase {
        case .probing(_, let next), .announcing(_, let next):
            deadline = min(deadline ?? next, next)
        default:
            break
        }
        return deadline
    }

    private func probe(on index: Int32, first: Bool) -> MDNSOutgoingPacket {
        let proposed = records(on: index).filter(\.cacheFlush)
        // §8.1: the first probe asks for a unicast answer (QU).
        let message = DNSMessage(
            questions: [
                DNSQuestion(name: instanceFullName, type: .any, unicastResponse: first),
                DNSQuestion(name: hostFullName, type: .any, unicastResponse: first),
            ],
            authorities: proposed)
        return MDNSOutgoingPacket(message: message, interfaceIndex: index, destination: .multicast(nil))
    }

    /// Handles a packet that arrived: conflicts with our names, then questions to answer.
    public mutating func receive(_ packet: MDNSIncomingPacket, now: NIODeadline) -> [Action] {
        guard service != nil, interfaces[packet.interfaceIndex] != nil, packet.message.isStandardOpcode else { return [] }
        let message = packet.message
        if message.isResponse {
            return packet.source.port == 5353 ? checkConflict(in: message, now: now) : []
        }
        if case .probing = phase, let actions = tieBreak(message, now: now) { return actions }
        guard ownsNames else { return [] }
        return answer(packet, now: now)
    }

    /// §8.1/§9: someone answers with a different record for one of our unique names.
    private mutating func checkConflict(in message: DNSMessage, now: NIODeadline) -> [Action] {
        let ours = allUniqueRecords
        let conflicting = message.answers.first { record in
            record.ttl > 0 && isOurUniqueName(record.name) && record.type != .nsec
                && !ours.contains { $0.isSameRecord(as: record) }
                // A host name may carry several addresses; only a foreign record of a type
                // we also hold for that name is a clash.
                && ours.contains { $0.name == record.name && $0.type == record.type }
        }
        guard let conflicting else { return [] }
        switch phase {
        case .probing:
            return rename(because: conflicting, now: now)
        case .announcing, .announced:
            // §9: start again from probing; if the other host still holds the name, the
            // probes meet its answer and we rename then.
            conflictTimes.append(now)
            _ = startProbing(now: now, delay: .zero)
            return [.log("another host answered for \(conflicting.name) with different data; probing again")]
        case .idle:
            return []
        }
    }

    private mutating func rename(because record: DNSResourceRecord, now: NIODeadline) -> [Action] {
        conflictTimes.append(now)
        var actions: [Action] = []
        if record.name == hostFullName {
            hostLabel = Self.nextName(after: hostLabel).replacingSpaces()
            actions.append(.log("host name taken on the link; now \(hostLabel).local"))
        } else {
            instanceName = Self.nextName(after: instanceName)
            actions.append(.renamed(instanceName))
            actions.append(.log("instance name taken on the link; now \(instanceName)"))
        }
        actions += startProbing(now: now, delay: .milliseconds(0))
        return actions
    }

    /// §8.2: simultaneous probes for the same name; the lexicographically later data wins.
    private mutating func tieBreak(_ message: DNSMessage, now: NIODeadline) -> [Action]? {
        for name in [instanceFullName, hostFullName] {
            let theirs = message.authorities.filter { $0.name == name }
            guard !theirs.isEmpty else { continue }
            let ours = allUniqueRecords.filter { $0.name == name }
            switch Self.compare(ours, theirs) {
            case .equal, .ourWin:
                continue
            case .theirWin:
                // §8.2: the loser waits one second and probes again with the same name.
                _ = startProbing(now: now, delay: .seconds(1))
                return [.log("simultaneous probe for \(name) won by another host; probing again in 1 s")]
            }
        }
        return nil
    }

    enum TieBreak { case ourWin, theirWin, equal }

    /// Compares two record sets as RFC 6762 §8.2 says: sorted, then record by record on
    /// class, type and canonical rdata; a set that runs out first is the lesser.
    static func compare(_ ours: [DNSResourceRecord], _ theirs: [DNSResourceRecord]) -> TieBreak {
        func key(_ record: DNSResourceRecord) -> [UInt8] {
            [UInt8(record.recordClass >> 8), UInt8(record.recordClass & 0xFF), UInt8(record.type.rawValue >> 8), UInt8(record.type.rawValue & 0xFF)]
                + record.canonicalData
        }
        let a = Set(ours.map(key)).sorted { $0.lexicographicallyPrecedes($1) }
        let b = Set(theirs.map(key)).sorted { $0.lexicographicallyPrecedes($1) }
        for (x, y) in zip(a, b) where x != y { return x.lexicographicallyPrecedes(y) ? .theirWin : .ourWin }
        if a.count == b.count { return .equal }
        return a.count < b.count ? .theirWin : .ourWin
    }

    private mutating func answer(_ packet: MDNSIncomingPacket, now: NIODeadline) -> [Action] {
        let message = packet.message
        let ours = records(on: packet.interfaceIndex)
        var matched: [(record: DNSResourceRecord, unicast: Bool)] = []
        for question in message.questions {
            for record in ours where question.isAnswered(by: record) && !matched.contains(where: { $0.record == record }) {
                // §7.1 known-answer suppression: the asker already holds it with at least half the TTL.
                let known = message.answers.contains { $0.isSameRecord(as: record) && UInt64($0.ttl) * 2 >= UInt64(record.ttl) }
                if !known { matched.append((record, question.unicastResponse)) }
            }
        }
        guard !matched.isEmpty else { return [] }
        let records = matched.map(\.record)

        if packet.source.port != 5353 {
            // §6.7 legacy unicast: answer the querier directly, with its id and question,
            // short TTLs and no cache-flush bit.
            let answers = records.map { record -> DNSResourceRecord in
                var record = record
                record.ttl = min(record.ttl, 10)
                record.cacheFlush = false
                return record
            }
            let reply = DNSMessage(id: message.id, flags: DNSMessage.responseFlags, questions: message.questions, answers: answers)
            return [.send(MDNSOutgoingPacket(message: reply, interfaceIndex: packet.interfaceIndex, destination: .unicast(packet.source)))]
        }

        var actions: [Action] = []
        // §5.4: a QU question gets a unicast answer when the record went out by multicast
        // recently (within a quarter of its TTL); otherwise the answer is multicast.
        let unicast = matched.filter { entry in
            guard entry.unicast else { return false }
            let key = MulticastKey(record: entry.record, interfaceIndex: packet.interfaceIndex, family: packet.source.family)
            guard let last = lastMulticast[key] else { return false }
            return now - last < .seconds(Int64(entry.record.ttl) / 4)
        }.map(\.record)
        if !unicast.isEmpty {
            let reply = DNSMessage(flags: DNSMessage.responseFlags, answers: unicast, additionals: additionals(for: unicast, on: packet.interfaceIndex))
            actions.append(.send(MDNSOutgoingPacket(message: reply, interfaceIndex: packet.interfaceIndex, destination: .unicast(packet.source))))
        }
        let multicast = records.filter { !unicast.contains($0) }
        guard !multicast.isEmpty else { return actions }
        // §6: unique records at once, shared ones after 20–120 ms so many responders do not collide.
        let isProbe = !message.authorities.isEmpty
        let delay: TimeAmount = multicast.allSatisfy(\.cacheFlush) ? .zero : random.delay(milliseconds: 20...120)
        if isProbe {
            // §6: defending a name against a probe may come 250 ms after the last multicast.
            for record in multicast {
                let key = MulticastKey(record: record, interfaceIndex: packet.interfaceIndex, family: packet.source.family)
                if let last = lastMulticast[key], now - last >= .milliseconds(250) { lastMulticast[key] = nil }
            }
        }
        schedule(multicast, interfaceIndex: packet.interfaceIndex, family: packet.source.family, due: now + delay)
        if delay == .zero { actions += timerFired(now: now) }
        return actions
    }

    /// Adds answers to the one pending response per interface and family, which goes at the
    /// earliest time any of its answers asked for; answers still inside their one-second
    /// window then are put back for later (see `timerFired`).
    private mutating func schedule(_ answers: [DNSResourceRecord], interfaceIndex: Int32, family: MDNSFamily, due: NIODeadline) {
        if let index = pending.firstIndex(where: { $0.interfaceIndex == interfaceIndex && $0.family == family }) {
            pending[index].answers += answers.filter { !pending[index].answers.contains($0) }
            pending[index].due = min(pending[index].due, due)
        } else {
            pending.append(PendingResponse(due: due, interfaceIndex: interfaceIndex, family: family, answers: answers))
        }
    }

    /// DNS-SD §12: with a PTR go the SRV, TXT and addresses; with an SRV the addresses.
    private func additionals(for answers: [DNSResourceRecord], on index: Int32) -> [DNSResourceRecord] {
        let ours = records(on: index)
        var extra: [DNSResourceRecord] = []
        func add(_ record: DNSResourceRecord) {
            if !answers.contains(record), !extra.contains(record) { extra.append(record) }
        }
        for answer in answers {
            if answer.type == .ptr, answer.name == Self.serviceTypeName {
                ours.filter { $0.name == instanceFullName || $0.name == hostFullName }.forEach(add)
            } else if answer.type == .srv {
                ours.filter { $0.name == hostFullName }.forEach(add)
            }
        }
        return extra
    }
}

extension String {
    fileprivate func replacingSpaces() -> String {
        String(map { $0 == " " || $0 == "(" || $0 == ")" ? "-" : $0 }).split(separator: "-").joined(separator: "-")
    }
}
