import DBus

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension AvahiBackend {
    /// Renames after collisions stop here: something is wrong beyond bad luck.
    static let maxRenames = 32

    static func validate(_ service: ServiceAnnouncement) throws(AvahiError) {
        let nameBytes = service.instanceName.utf8.count
        guard nameBytes >= 1, nameBytes <= 63 else {
            throw .invalidAnnouncement("the instance name must be 1 to 63 bytes of UTF-8, not \(nameBytes)")
        }
        guard !service.instanceName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalidAnnouncement("the instance name contains control characters")
        }
        guard service.port != 0 else { throw .invalidAnnouncement("port 0 cannot be dialled") }
        let entries = try AvahiTXT.encode(service.txt)
        let total = entries.reduce(0) { $0 + $1.count + 1 }
        guard total <= 8900 else {
            throw .invalidAnnouncement("the TXT record is \(total) bytes; keep it under 8900 so it fits a packet")
        }
    }

    /// Registers the announcement when the daemon runs and it is not (or no longer) there.
    /// Safe to call from anywhere: one registration runs at a time, and a change that comes in
    /// meanwhile is picked up by the same loop.
    func ensurePublished() async throws {
        guard !isRegistering else { return }
        isRegistering = true
        defer { isRegistering = false }
        var rounds = 0
        while groupNeedsRegistration, rounds < 8, !isShutDown, daemonOwner != nil, serverState == .running,
            let service = announcement
        {
            rounds += 1
            groupNeedsRegistration = false
            do {
                try await register(service)
            } catch let error as AvahiError {
                lastGroupProblem = error.message
                throw error
            } catch {
                let failure = AvahiError.daemonFailure("announce \(service.instanceName)", error)
                lastGroupProblem = failure.message
                logger.error("\(failure.message)")
                throw failure
            }
        }
    }

    private func register(_ service: ServiceAnnouncement) async throws {
        let thisGeneration = generation
        let path: DBusObjectPath
        if let group {
            path = group
            try await callObject(path, Avahi.entryGroup, "Reset")
        } else {
            guard let created = try await callServer("EntryGroupNew").first?.objectPathValue else {
                throw AvahiError(code: .daemonFailure, message: "avahi-daemon answered EntryGroupNew without a path")
            }
            guard generation == thisGeneration else { return }
            group = created
            path = created
        }
        groupState = .uncommitted
        let interfaces = await publishingInterfaces()
        guard generation == thisGeneration else { return }
        if interfaces.isEmpty {
            lastGroupProblem = "None of the allowed interfaces is known to Avahi"
            logger.warning("Not announcing: none of the allowed interfaces is known to Avahi")
            return
        }
        var name = currentInstanceName ?? service.instanceName
        let txt = try AvahiTXT.encode(service.txt).map(DBusValue.bytes)
        var added = false
        while !added {
            do {
                for interface in interfaces {
                    try await callObject(
                        path, Avahi.entryGroup, "AddService",
                        [
                            .int32(interface), .int32(Avahi.anyProtocol), .uint32(0), .string(name),
                            .string(ServiceAnnouncement.serviceType), .string(""), .string(""),
                            .uint16(service.port), .array(element: .array(of: .byte), txt),
                        ])
                }
                added = true
            } catch let error as DBusError where error.name == Avahi.collisionError {
                // Another entry group on this same daemon holds the name.
                guard generation == thisGeneration else { return }
                try await callObject(path, Avahi.entryGroup, "Reset")
                name = try await rename(name)
            }
        }
        guard generation == thisGeneration else { return }
        try await callObject(path, Avahi.entryGroup, "Commit")
        lastGroupProblem = nil
        logger.info("Announcing \(name).\(ServiceAnnouncement.serviceType) on port \(service.port) through Avahi")
    }

    /// Takes Avahi's next name for `name` ("peer #2" style) and tells the browsers.
    private func rename(_ name: String) async throws -> String {
        renameCount += 1
        guard renameCount <= Self.maxRenames else {
            throw AvahiError(
                code: .daemonFailure,
                message: "The service name \(name) collided \(Self.maxRenames) times; another host may be "
                    + "announcing every variant of it. Choose another peer name.")
        }
        guard let next = try await callServer("GetAlternativeServiceName", [.string(name)]).first?.stringValue,
            !next.isEmpty, next != name
        else {
            throw AvahiError(code: .daemonFailure, message: "avahi-daemon gave no alternative to the name \(name)")
        }
        logger.notice("The name \(name) is taken on the network; announcing as \(next)")
        currentInstanceName = next
        emit(.renamed(next))
        return next
    }

    /// Interface indexes to announce on: AVAHI_IF_UNSPEC unless the options restrict them.
    private func publishingInterfaces() async -> [Int32] {
        var names: Set<String>
        if let allowed = options.allowedInterfaces {
            names = allowed
        } else if options.deniedInterfaces.isEmpty {
            return [Avahi.anyInterface]
        } else {
            names = Self.localInterfaceNames()
        }
        names.subtract(options.deniedInterfaces)
        var indexes: [Int32] = []
        for name in names.sorted() {
            guard let reply = try? await callServer("GetNetworkInterfaceIndexByName", [.string(name)]),
                let index = reply.first?.int32Value, index >= 0
            else { continue }
            indexes.append(index)
            if interfaceNames.count < 256 { interfaceNames[index] = name }
        }
        return indexes
    }

    private static func localInterfaceNames() -> Set<String> {
        var names: Set<String> = []
        guard let list = if_nameindex() else { return names }
        defer { if_freenameindex(list) }
        var entry = list
        var count = 0
        while entry.pointee.if_index != 0, count < 1024, let cName = entry.pointee.if_name {
            names.insert(String(cString: cName))
            entry += 1
            count += 1
        }
        return names
    }

    func groupStateChanged(_ state: Avahi.GroupState, error: String) async {
        groupState = state
        switch state {
        case .established:
            lastGroupProblem = nil
            logger.debug("Announcement established as \(currentInstanceName ?? "?")")
        case .collision:
            // Probing found another host with this name: take the next name and go again.
            guard announcement != nil, let name = currentInstanceName, let group else { return }
            do {
                _ = try await callObject(group, Avahi.entryGroup, "Reset")
                _ = try await rename(name)
                groupNeedsRegistration = true
                try await ensurePublished()
            } catch {
                lastGroupProblem = "\(error)"
                logger.error("Could not rename after a name collision: \(error)")
            }
        case .failure:
            lastGroupProblem = error.isEmpty ? "Avahi could not announce the service" : error
            logger.error("Avahi failed to announce the service: \(lastGroupProblem ?? "")")
        case .uncommitted, .registering:
            break
        }
    }
}
