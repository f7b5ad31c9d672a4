import DBus

extension AvahiBackend {
    /// Creates the one service browser when someone browses and Avahi is there. The browser
    /// is prepared silent, and our subscription to all of Avahi's signals already exists, so
    /// `Start()` cannot race a lost `ItemNew`.
    func ensureBrowsing() async {
        var attempts = 0
        while attempts < 4, !isShutDown, !streams.isEmpty, daemonOwner != nil, browser == nil, !isStartingBrowser {
            attempts += 1
            isStartingBrowser = true
            let thisGeneration = generation
            do {
                let reply = try await callServer(
                    "ServiceBrowserPrepare",
                    [
                        .int32(Avahi.anyInterface), .int32(Avahi.anyProtocol),
                        .string(ServiceAnnouncement.serviceType), .string(""), .uint32(0),
                    ], interface: Avahi.server2)
                guard let path = reply.first?.objectPathValue else {
                    throw AvahiError(code: .daemonFailure, message: "ServiceBrowserPrepare returned no path")
                }
                guard generation == thisGeneration, !isShutDown else {
                    isStartingBrowser = false
                    continue
                }
                browser = path
                browserProblem = nil
                try await callObject(path, Avahi.serviceBrowser, "Start")
                logger.debug("Browsing \(ServiceAnnouncement.serviceType) through Avahi (\(path))")
            } catch {
                if generation == thisGeneration {
                    browser = nil
                    browserProblem = "\(error)"
                    logger.error("Avahi could not start browsing: \(error)")
                }
            }
            isStartingBrowser = false
        }
    }

    func browserSignal(_ member: String, _ arguments: [DBusValue]) async {
        switch member {
        case "ItemNew":
            guard let item = AvahiBrowseItem(arguments: arguments) else {
                logger.debug("Ignoring a malformed ItemNew from Avahi")
                return
            }
            await itemNew(item)
        case "ItemRemove":
            guard let item = AvahiBrowseItem(arguments: arguments) else { return }
            itemRemoved(AvahiSightingKey(name: item.name, interface: item.interface, proto: item.proto))
        case "AllForNow":
            // What the renewed browser did not report by now is gone.
            for (name, instance) in instances where instance.isStale && instance.sightings.isEmpty {
                instances[name] = nil
                if instance.lastEmitted != nil { emit(.lost(instanceName: name)) }
            }
        case "Failure":
            let error = arguments.first?.stringValue ?? "unknown error"
            browserProblem = error
            browser = nil
            logger.error("Avahi's service browser failed: \(error)")
            let thisGeneration = generation
            Task { [weak self] in
                try? await Task.sleep(for: .seconds(5))
                guard let self else { return }
                await self.retryBrowsing(ifStillGeneration: thisGeneration)
            }
        default:
            break
        }
    }

    private func retryBrowsing(ifStillGeneration expected: Int) async {
        guard generation == expected else { return }
        await ensureBrowsing()
    }

    private func itemNew(_ item: AvahiBrowseItem) async {
        guard item.type.lowercased() == ServiceAnnouncement.serviceType else { return }
        let ifname = await interfaceName(item.interface)
        guard options.permits(ifname) else { return }
        let key = AvahiSightingKey(name: item.name, interface: item.interface, proto: item.proto)
        var instance: AvahiInstance
        if let known = instances[item.name] {
            instance = known
        } else {
            guard instances.count < options.maxServices else {
                droppedServices += 1
                if droppedServices == 1 || droppedServices % 100 == 0 {
                    logger.warning(
                        "Ignoring \(item.name): already tracking \(options.maxServices) services (\(droppedServices) ignored)")
                }
                return
            }
            instance = AvahiInstance(name: item.name)
        }
        instance.isStale = false
        guard instance.sightings[key] == nil else {
            instances[item.name] = instance
            return
        }
        instance.sightings[key] = AvahiSighting(type: item.type, domain: item.domain, interfaceName: ifname)
        instances[item.name] = instance
        resolutionQueue.append(key)
        scheduleResolutions()
    }

    private func itemRemoved(_ key: AvahiSightingKey) {
        guard var instance = instances[key.name], let sighting = instance.sightings.removeValue(forKey: key) else {
            return
        }
        release(sighting)
        resolutionQueue.removeAll { $0 == key }
        if instance.sightings.isEmpty {
            instances[key.name] = nil
            if instance.lastEmitted != nil { emit(.lost(instanceName: key.name)) }
        } else {
            instances[key.name] = instance
            publishMerged(key.name)
        }
        scheduleResolutions()
    }

    /// Gives back what a sighting holds: its pending slot, its watch slot, its resolver.
    private func release(_ sighting: AvahiSighting) {
        if sighting.isPending { pendingResolutions -= 1 }
        if sighting.isWatched { watchedResolutions -= 1 }
        if let resolver = sighting.resolver {
            resolverOwners[resolver] = nil
            freeLater(resolver, Avahi.serviceResolver)
        }
    }

    func freeLater(_ path: DBusObjectPath, _ interface: String) {
        guard daemonOwner != nil else { return }
        Task { [weak self] in _ = try? await self?.callObject(path, interface, "Free") }
    }

    /// Forgets where instances were seen (the daemon or the browser is new); what they
    /// resolved to stays, so that they reappear without a flicker.
    func forgetSightings(markStale: Bool) {
        for (name, var instance) in instances {
            for sighting in instance.sightings.values {
                if let resolver = sighting.resolver { freeLater(resolver, Avahi.serviceResolver) }
            }
            instance.sightings = [:]
            if markStale { instance.isStale = true }
            instances[name] = instance
        }
        resolverOwners = [:]
        earlyResolverSignals = []
        resolutionQueue = []
        pendingResolutions = 0
        watchedResolutions = 0
    }

    func scheduleResolutions() {
        var budget = resolutionQueue.count
        while pendingResolutions < options.maxPendingResolutions, !resolutionQueue.isEmpty, budget > 0 {
            budget -= 1
            let key = resolutionQueue.removeFirst()
            guard var sighting = instances[key.name]?.sightings[key], !sighting.isPending, sighting.resolver == nil
            else { continue }
            sighting.isPending = true
            instances[key.name]?.sightings[key] = sighting
            pendingResolutions += 1
            let thisGeneration = generation
            Task { [weak self] in await self?.startResolver(key, sighting, generation: thisGeneration) }
        }
    }

    private func startResolver(_ key: AvahiSightingKey, _ sighting: AvahiSighting, generation expected: Int) async {
        guard generation == expected else { return }
        do {
            preparingResolvers += 1
            let reply: [DBusValue]
            do {
                reply = try await callServer(
                    "ServiceResolverPrepare",
                    [
                        .int32(key.interface), .int32(key.proto), .string(key.name), .string(sighting.type),
                        .string(sighting.domain), .int32(key.proto), .uint32(0),
                    ], interface: Avahi.server2)
            } catch {
                preparedResolver(nil)
                throw error
            }
            let path = reply.first?.objectPathValue
            let early = preparedResolver(path)
            guard let path else {
                throw AvahiError(code: .daemonFailure, message: "ServiceResolverPrepare returned no path")
            }
            guard generation == expected else { return }
            guard instances[key.name]?.sightings[key]?.isPending == true else {
                freeLater(path, Avahi.serviceResolver)
                return
            }
            resolverOwners[path] = key
            instances[key.name]?.sightings[key]?.resolver = path
            // Avahi 0.8 starts a prepared resolver at once, so its answer may already be here.
            for signal in early {
                guard resolverOwners[path] == key else { break }
                await resolverSignal(signal.member, signal.arguments, path: path, key: key)
            }
            // An early answer may have ended the resolver already; Start is then not needed.
            guard resolverOwners[path] == key else { return }
            try await callObject(path, Avahi.serviceResolver, "Start")
        } catch {
            guard generation == expected, var current = instances[key.name]?.sightings[key], current.isPending else {
                return
            }
            logger.warning("Avahi could not resolve \(key.name): \(error)")
            current.isPending = false
            pendingResolutions -= 1
            if let path = current.resolver {
                resolverOwners[path] = nil
                freeLater(path, Avahi.serviceResolver)
                current.resolver = nil
            }
            instances[key.name]?.sightings[key] = current
            scheduleResolutions()
        }
    }

    /// Keeps a resolver's signal whose path we do not know (yet). Avahi 0.8's
    /// `ServiceResolverPrepare` starts resolving before `Start()` (fixed after 0.8), so with a
    /// warm cache `Found` follows the reply at once; the reply resumes our call and the signal
    /// goes through the signal stream, and the signal may be handled first. Dropping it would
    /// leave the sighting unresolved for good, as no second `Found` comes. Kept only while a
    /// `…Prepare` reply is outstanding, oldest dropped first.
    func keepEarlyResolverSignal(_ path: DBusObjectPath, _ member: String, _ arguments: [DBusValue]) {
        guard preparingResolvers > 0, member == "Found" || member == "Failure" else { return }
        if earlyResolverSignals.count >= Self.maxEarlyResolverSignals { earlyResolverSignals.removeFirst() }
        earlyResolverSignals.append(AvahiEarlySignal(path: path, member: member, arguments: arguments))
    }

    /// At most this many early resolver signals are kept: one or two per resolution in flight.
    static var maxEarlyResolverSignals: Int { 256 }

    /// A `ServiceResolverPrepare` reply was handled: returns the early signals of its path
    /// (nil when the call failed), and forgets all early signals once no reply is outstanding,
    /// as they can belong to no resolver of ours any more.
    @discardableResult
    private func preparedResolver(_ path: DBusObjectPath?) -> [AvahiEarlySignal] {
        preparingResolvers -= 1
        var mine: [AvahiEarlySignal] = []
        if let path, !earlyResolverSignals.isEmpty {
            mine = earlyResolverSignals.filter { $0.path == path }
            earlyResolverSignals.removeAll { $0.path == path }
            if !mine.isEmpty { logger.debug("Avahi answered for \(path) before its Prepare reply was handled; using that answer") }
        }
        if preparingResolvers <= 0 {
            preparingResolvers = 0
            earlyResolverSignals = []
        }
        return mine
    }

    func resolverSignal(_ member: String, _ arguments: [DBusValue], path: DBusObjectPath, key: AvahiSightingKey) async {
        guard var sighting = instances[key.name]?.sightings[key] else {
            resolverOwners[path] = nil
            return
        }
        let wasPending = sighting.isPending
        if wasPending {
            sighting.isPending = false
            pendingResolutions -= 1
        }
        var keepResolver = false
        if member == "Found", let resolution = AvahiResolution(arguments: arguments), resolution.name == key.name {
            resolutionSerial += 1
            sighting.resolution = resolution
            sighting.resolvedSerial = resolutionSerial
            if sighting.isWatched {
                keepResolver = true
            } else if watchedResolutions < options.maxWatchedResolutions {
                sighting.isWatched = true
                watchedResolutions += 1
                keepResolver = true
            }
        } else if member == "Found" {
            logger.debug("Ignoring a malformed resolution of \(key.name) from Avahi")
            keepResolver = sighting.isWatched
        } else if member == "Failure" {
            logger.info("Avahi could not resolve \(key.name): \(arguments.first?.stringValue ?? "")")
            if sighting.resolution == nil, sighting.failures < 3 {
                sighting.failures += 1
                let thisGeneration = generation
                Task { [weak self] in
                    try? await Task.sleep(for: .seconds(1))
                    await self?.retryResolution(key, ifStillGeneration: thisGeneration)
                }
            }
        } else {
            return
        }
        if !keepResolver {
            if sighting.isWatched {
                sighting.isWatched = false
                watchedResolutions -= 1
            }
            resolverOwners[path] = nil
            sighting.resolver = nil
            freeLater(path, Avahi.serviceResolver)
        }
        instances[key.name]?.sightings[key] = sighting
        publishMerged(key.name)
        scheduleResolutions()
    }

    private func retryResolution(_ key: AvahiSightingKey, ifStillGeneration expected: Int) {
        guard generation == expected, let sighting = instances[key.name]?.sightings[key], sighting.resolution == nil,
            sighting.resolver == nil, !sighting.isPending, !resolutionQueue.contains(key)
        else { return }
        resolutionQueue.append(key)
        scheduleResolutions()
    }

    /// Tells the browsers about an instance when what they know of it changed.
    func publishMerged(_ name: String) {
        guard let instance = instances[name], let service = instance.merged(), service != instance.lastEmitted else {
            return
        }
        instances[name]?.lastEmitted = service
        emit(.found(service))
    }
}
