import DBus

/// One place Avahi saw an instance: the browser reports each interface and IP protocol
/// separately, and each needs its own resolution.
struct AvahiSightingKey: Hashable, Sendable, Comparable {
    var name: String
    var interface: Int32
    var proto: Int32

    static func < (lhs: AvahiSightingKey, rhs: AvahiSightingKey) -> Bool {
        (lhs.interface, lhs.proto) < (rhs.interface, rhs.proto)
    }
}

struct AvahiSighting: Sendable {
    var type: String
    var domain: String
    var interfaceName: String
    var resolution: AvahiResolution?
    /// Orders resolutions so the newest TXT/port wins when sightings disagree.
    var resolvedSerial = 0
    var resolver: DBusObjectPath?
    var isPending = false
    var isWatched = false
    /// Failed resolutions so far; a few are retried (answers get lost on a busy link).
    var failures = 0
}

/// A named service instance and all the sightings of it, merged into one
/// ``DiscoveredService`` for the browsers.
struct AvahiInstance: Sendable {
    var name: String
    var sightings: [AvahiSightingKey: AvahiSighting] = [:]
    /// What the browsers were last told, so an unchanged resolution is not repeated.
    var lastEmitted: DiscoveredService?
    /// Seen before the daemon restarted or the browser was renewed, and not seen since.
    var isStale = false

    init(name: String) {
        self.name = name
    }

    /// All resolved sightings as one service: addresses of every sighting (IPv4 first),
    /// host, port and TXT from the newest resolution.
    func merged() -> DiscoveredService? {
        let resolved = sightings.compactMap { key, sighting in
            sighting.resolution.map { (key: key, sighting: sighting, resolution: $0) }
        }
        guard let newest = resolved.max(by: { $0.sighting.resolvedSerial < $1.sighting.resolvedSerial }) else {
            return nil
        }
        var addresses: [String] = []
        for family in [Avahi.protocolIPv4, Avahi.protocolIPv6] {
            for entry in resolved.sorted(by: { $0.key < $1.key }) where entry.resolution.addressProtocol == family {
                let address = entry.resolution.dialableAddress(interfaceName: entry.sighting.interfaceName)
                if !addresses.contains(address) { addresses.append(address) }
            }
        }
        return DiscoveredService(
            instanceName: name, hostName: newest.resolution.host, addresses: addresses,
            port: newest.resolution.port, txt: newest.resolution.txt, interfaceIndex: newest.key.interface,
            interfaceName: newest.sighting.interfaceName)
    }
}

/// A resolver's signal kept until the reply that names the resolver has been handled.
struct AvahiEarlySignal: Sendable {
    var path: DBusObjectPath
    var member: String
    var arguments: [DBusValue]
}
