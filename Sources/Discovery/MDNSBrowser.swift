import NIOCore

/// The browsing half of the built-in mDNS responder as a state machine without I/O:
/// continuous querying for `_peercollab._tcp` with back-off and known answers (RFC 6762
/// §5.2, §7.1), resolving SRV/TXT/A/AAAA, and turning the cache into found/lost events.
public struct MDNSBrowser: Sendable {
    /// Bounds that keep a hostile or crowded link from growing memory without limit.
    public struct Limits: Sendable, Hashable {
        /// Services tracked at once; more are ignored (with a log line) until some go.
        public var instances: Int
        /// Services being resolved at once.
        public var pendingResolutions: Int
        /// Records cached.
        public var cachedRecords: Int

        public init(instances: Int = 512, pendingResolutions: Int = 64, cachedRecords: Int = 4096) {
            self.instances = instances
            self.pendingResolutions = pendingResolutions
            self.cachedRecords = cachedRecords
        }
    }

    /// What the owner must do.
    public enum Action: Sendable, Hashable {
        case send(MDNSOutgoingPacket)
        case found(DiscoveredService)
        case lost(instanceName: String)
        /// A limit was reached: worth one log line.
        case log(String)
    }

    struct Resolution: Sendable, Hashable {
        var interfaceIndex: Int32
        var attempts: Int
        var next: NIODeadline
    }

    public let limits: Limits
    /// The longest wait between browse queries (RFC 6762 §5.2: at most 60 minutes).
    public static let maximumQueryInterval = TimeAmount.minutes(60)
    private(set) var cache: MDNSCache
    private var interfaces: [Int32: MDNSInterface] = [:]
    private(set) var isBrowsing = false
    private var queryInterval = TimeAmount.seconds(1)
    private(set) var nextQuery: NIODeadline?
    /// Whether the next browse query asks for unicast answers (QU, §5.4): the first one of a
    /// browse, so that a responder that multicast its answer moments ago (for another
    /// browser) answers us directly at once instead of holding it back for a second (§6).
    private var nextQueryIsQU = false
    private var found: [DNSName: DiscoveredService] = [:]
    /// The instances found per host name, so that an address record finds its services
    /// without a walk over every service (a crowded link sends hundreds per query).
    private var instancesByHost: [DNSName: Set<DNSName>] = [:]
    private var resolutions: [DNSName: Resolution] = [:]
    private var random: MDNSRandom
    private var warnedInstances = false
    private var warnedResolutions = false

    public init(limits: Limits = Limits(), random: MDNSRandom = MDNSRandom()) {
        self.limits = limits
        self.random = random
        self.cache = MDNSCache(capacity: limits.cachedRecords, random: random)
    }

    /// The services found so far (for a new subscriber).
    public var services: [DiscoveredService] { Array(found.values) }

    /// Starts continuous querying; the first query goes after 20–120 ms (§5.2).
    public mutating func start(now: NIODeadline) {
        guard !isBrowsing else { return }
        isBrowsing = true
        queryInterval = .seconds(1)
        nextQueryIsQU = true
        nextQuery = now + random.delay(milliseconds: 20...120)
    }

    /// Asks again now and restarts the back-off (resume, new address).
    public mutating func refresh(now: NIODeadline) -> [Action] {
        guard isBrowsing else { return [] }
        queryInterval = .seconds(1)
        nextQueryIsQU = true
        nextQuery = now
        return timerFired(now: now)
    }

    /// The interfaces to browse on; records of vanished interfaces are dropped, new ones
    /// are asked at once.
    public mutating func setInterfaces(_ list: [MDNSInterface], now: NIODeadline) -> [Action] {
        let old = interfaces
        interfaces = Dictionary(list.map { ($0.index, $0) }, uniquingKeysWith: { first, _ in first })
        var touched = Set<DNSName>()
        for index in old.keys where interfaces[index] == nil {
            for entry in cache.removeInterface(index) { touched.insert(instanceName(of: entry.record) ?? entry.record.name) }
        }
        var actions = reconcile(touched, now: now)
        if isBrowsing, interfaces.contains(where: { old[$0.key] != $0.value }) { actions += refresh(now: now) }
        return actions
    }

    /// When `timerFired` next has work.
    public var nextDeadline: NIODeadline? {
        [nextQuery, cache.nextDeadline, resolutions.values.map(\.next).min()].compactMap { $0 }.min()
    }

    /// Sends due queries, re-queries records near expiry, expires the cache.
    public mutating func timerFired(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        var touched = Set<DNSName>()
        for entry in cache.expire(now: now) { touched.insert(instanceName(of: entry.record) ?? entry.record.name) }
        if isBrowsing, let next = nextQuery, next <= now {
            for index in interfaces.keys.sorted() { actions.append(.send(browseQuery(on: index, now: now, unicastResponse: nextQueryIsQU))) }
            nextQueryIsQU = false
            nextQuery = now + queryInterval
            queryInterval = min(queryInterval * 2, Self.maximumQueryInterval)
        }
        // §5.2: re-ask for records we use at 80, 85, 90, 95 % of their TTL.
        var refreshQuestions: [Int32: [DNSQuestion]] = [:]
        for entry in cache.refreshesDue(now: now) {
            let question = DNSQuestion(name: entry.record.name, type: entry.record.type)
            if !(refreshQuestions[entry.interfaceIndex] ?? []).contains(question) { refreshQuestions[entry.interfaceIndex, default: []].append(question) }
        }
        for (index, questions) in refreshQuestions.sorted(by: { $0.key < $1.key }) where interfaces[index] != nil {
            actions.append(.send(MDNSOutgoingPacket(message: DNSMessage(questions: questions), interfaceIndex: index, destination: .multicast(nil))))
        }
        for (instance, resolution) in resolutions where resolution.next <= now {
            if resolution.attempts >= 4 || interfaces[resolution.interfaceIndex] == nil {
                resolutions[instance] = nil
                continue
            }
            actions.append(.send(resolveQuery(instance, on: resolution.interfaceIndex)))
            resolutions[instance]!.attempts += 1
            resolutions[instance]!.next = now + .seconds(1 << Int64(resolution.attempts))
        }
        actions += reconcile(touched, now: now)
        return actions
    }

    private func browseQuery(on index: Int32, now: NIODeadline, unicastResponse: Bool) -> MDNSOutgoingPacket {
        // §7.1: list the answers we hold with more than half their TTL left, so responders
        // stay quiet about them. Bounded so the query fits one ordinary packet.
        var known = cache.records(named: MDNSResponder.serviceTypeName, type: .ptr, interfaceIndex: index)
            .filter { $0.hasHalfTTLLeft(at: now) }
            .map { entry -> DNSResourceRecord in
                var record = entry.record
                record.ttl = UInt32(max(0, (entry.expiresAt - now).nanoseconds / 1_000_000_000))
                record.cacheFlush = false
                return record
            }
        var message = DNSMessage(questions: [DNSQuestion(name: MDNSResponder.serviceTypeName, type: .ptr, unicastResponse: unicastResponse)], answers: known)
        while known.count > 0, ((try? message.encoded().count) ?? Int.max) > 1400 {
            known.removeLast(max(1, known.count / 4))
            message.answers = known
        }
        return MDNSOutgoingPacket(message: message, interfaceIndex: index, destination: .multicast(nil))
    }

    private func resolveQuery(_ instance: DNSName, on index: Int32) -> MDNSOutgoingPacket {
        var questions = [DNSQuestion(name: instance, type: .srv), DNSQuestion(name: instance, type: .txt)]
        for entry in cache.records(named: instance, type: .srv, interfaceIndex: index) {
            if case .srv(_, _, _, let target) = entry.record.data {
                questions += [DNSQuestion(name: target, type: .a), DNSQuestion(name: target, type: .aaaa)]
            }
        }
        return MDNSOutgoingPacket(message: DNSMessage(questions: questions), interfaceIndex: index, destination: .multicast(nil))
    }

    /// The service instance a record belongs to, when it is one of ours to track.
    private func instanceName(of record: DNSResourceRecord) -> DNSName? {
        if record.type == .ptr, record.name == MDNSResponder.serviceTypeName, case .ptr(let instance) = record.data { return instance }
        if record.name.isChild(of: MDNSResponder.serviceTypeName) { return record.name }
        return nil
    }

    /// Takes the records of a response into the cache and reports what changed.
    public mutating func receive(_ packet: MDNSIncomingPacket, now: NIODeadline) -> [Action] {
        let message = packet.message
        // §6, §11: only responses from port 5353 on an interface we use count.
        guard message.isResponse, message.isStandardOpcode, packet.source.port == 5353, interfaces[packet.interfaceIndex] != nil else { return [] }
        var actions: [Action] = []
        var touched = Set<DNSName>()
        var targets = Set<DNSName>()
        var resolutionTargets: Set<DNSName>?
        let records = message.allRecords
        for record in records where record.type == .srv {
            if case .srv(_, _, _, let target) = record.data, instanceName(of: record) != nil { targets.insert(target) }
        }
        for record in records {
            let instance: DNSName
            if let owner = instanceName(of: record) {
                instance = owner
                if record.type == .ptr, record.ttl > 0, found[instance] == nil, trackedInstanceCount >= limits.instances,
                    cache.records(named: record.name, type: .ptr).count(where: { $0.record == record || $0.record.isSameRecord(as: record) }) == 0
                {
                    if !warnedInstances {
                        warnedInstances = true
                        actions.append(.log("more than \(limits.instances) peercollab services on the link; ignoring new ones until some leave"))
                    }
                    continue
                }
            } else if record.type == .a || record.type == .aaaa {
                if !targets.contains(record.name), instancesByHost[record.name] == nil {
                    let pending = resolutionTargets ?? targetsBeingResolved()
                    resolutionTargets = pending
                    guard pending.contains(record.name) else { continue }
                }
                instance = record.name
            } else {
                continue
            }
            if cache.insert(record, interfaceIndex: packet.interfaceIndex, now: now) == .addedByEvicting, !warnedInstances {
                warnedInstances = true
                actions.append(.log("the mDNS cache is full (\(limits.cachedRecords) records); dropping the oldest"))
            }
            touched.insert(instance)
        }
        return actions + reconcile(touched, now: now)
    }

    private var trackedInstanceCount: Int {
        found.count + resolutions.keys.count { found[$0] == nil }
    }

    /// The hosts named by the SRV records of services still being resolved.
    private func targetsBeingResolved() -> Set<DNSName> {
        var targets = Set<DNSName>()
        for instance in resolutions.keys {
            for entry in cache.records(named: instance, type: .srv) {
                if case .srv(_, _, _, let target) = entry.record.data { targets.insert(target) }
            }
        }
        return targets
    }

    private mutating func setFound(_ service: DiscoveredService, for instance: DNSName) {
        if let old = found[instance] { forgetHost(of: old, for: instance) }
        found[instance] = service
        instancesByHost[DNSName(dotted: service.hostName), default: []].insert(instance)
    }

    private mutating func removeFound(_ instance: DNSName) -> Bool {
        guard let old = found.removeValue(forKey: instance) else { return false }
        forgetHost(of: old, for: instance)
        return true
    }

    private mutating func forgetHost(of service: DiscoveredService, for instance: DNSName) {
        let host = DNSName(dotted: service.hostName)
        instancesByHost[host]?.remove(instance)
        if instancesByHost[host]?.isEmpty == true { instancesByHost[host] = nil }
    }

    /// Recomputes the services named in `touched` (instances or host names) and emits
    /// found/lost for what changed.
    private mutating func reconcile(_ touched: Set<DNSName>, now: NIODeadline) -> [Action] {
        guard !touched.isEmpty else { return [] }
        var instances = Set<DNSName>()
        for name in touched {
            if name.isChild(of: MDNSResponder.serviceTypeName) {
                instances.insert(name)
            } else {
                // A host name: every instance whose SRV points at it.
                instances.formUnion(instancesByHost[name] ?? [])
                for instance in resolutions.keys { instances.insert(instance) }
            }
        }
        // One walk over the service's PTR records for the whole batch, not one per instance.
        var pointersByInstance: [DNSName: [MDNSCache.Entry]] = [:]
        for entry in cache.records(named: MDNSResponder.serviceTypeName, type: .ptr) {
            if case .ptr(let instance) = entry.record.data, instances.contains(instance) { pointersByInstance[instance, default: []].append(entry) }
        }
        var actions: [Action] = []
        // Sorted so events come in a stable order; the instance label is what differs.
        for instance in instances.sorted(by: { ($0.labels.first ?? []).lexicographicallyPrecedes($1.labels.first ?? []) }) {
            let pointers = pointersByInstance[instance] ?? []
            guard !pointers.isEmpty else {
                resolutions[instance] = nil
                if removeFound(instance) { actions.append(.lost(instanceName: instance.firstLabel)) }
                continue
            }
            var resolved: DiscoveredService? = nil
            var missingOn: Int32? = nil
            for index in Set(pointers.map(\.interfaceIndex)).sorted() {
                if let service = resolve(instance, on: index) {
                    resolved = service
                    break
                }
                if missingOn == nil { missingOn = index }
            }
            if let resolved {
                resolutions[instance] = nil
                if found[instance] != resolved {
                    setFound(resolved, for: instance)
                    actions.append(.found(resolved))
                }
            } else if let missingOn, resolutions[instance] == nil {
                if removeFound(instance) { actions.append(.lost(instanceName: instance.firstLabel)) }
                if resolutions.count >= limits.pendingResolutions {
                    if !warnedResolutions {
                        warnedResolutions = true
                        actions.append(.log("more than \(limits.pendingResolutions) services waiting to be resolved; the rest wait for their next announcement"))
                    }
                } else {
                    // Give the rest of the announcement (additional records) a moment before asking.
                    resolutions[instance] = Resolution(interfaceIndex: missingOn, attempts: 0, next: now + .milliseconds(200))
                }
            }
        }
        return actions
    }

    private func resolve(_ instance: DNSName, on index: Int32) -> DiscoveredService? {
        guard let interface = interfaces[index],
            let srv = cache.records(named: instance, type: .srv, interfaceIndex: index).last?.record,
            case .srv(_, _, let port, let target) = srv.data,
            let txt = cache.records(named: instance, type: .txt, interfaceIndex: index).last?.record
        else { return nil }
        let addresses = cache.records(named: target, interfaceIndex: index).compactMap { entry -> String? in
            switch entry.record.data {
            case .a(let bytes):
                return MDNSInterface.format(bytes)
            case .aaaa(let bytes):
                let text = MDNSInterface.format(bytes)
                return MDNSInterface.Address(bytes: bytes, prefixLength: 64).isLinkLocal ? "\(text)%\(interface.name)" : text
            default:
                return nil
            }
        }.sorted()
        guard !addresses.isEmpty else { return nil }
        let host = target.description
        return DiscoveredService(
            instanceName: instance.firstLabel, hostName: String(host.dropLast()), addresses: addresses, port: port,
            txt: txt.txtDictionary, interfaceIndex: index, interfaceName: interface.name)
    }
}

extension MDNSBrowser {
    /// How many services are being resolved (for tests and diagnose).
    var resolutionsCount: Int { resolutions.count }
}
