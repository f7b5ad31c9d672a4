import DBus

/// Names and numbers of Avahi's D-Bus API (avahi-common/defs.h, avahi-daemon/*.xml).
enum Avahi {
    static let busName = "org.freedesktop.Avahi"
    static let serverPath: DBusObjectPath = "/"
    static let server = "org.freedesktop.Avahi.Server"
    /// Avahi 0.8's second server interface, with the `…Prepare` methods whose objects stay
    /// silent until `Start()`.
    static let server2 = "org.freedesktop.Avahi.Server2"
    static let entryGroup = "org.freedesktop.Avahi.EntryGroup"
    static let serviceBrowser = "org.freedesktop.Avahi.ServiceBrowser"
    static let serviceResolver = "org.freedesktop.Avahi.ServiceResolver"
    static let collisionError = "org.freedesktop.Avahi.CollisionError"

    /// AVAHI_IF_UNSPEC
    static let anyInterface: Int32 = -1
    /// AVAHI_PROTO_UNSPEC; 0 is IPv4, 1 is IPv6.
    static let anyProtocol: Int32 = -1
    static let protocolIPv4: Int32 = 0
    static let protocolIPv6: Int32 = 1

    /// AvahiServerState
    enum ServerState: Int32, Sendable {
        case invalid = 0, registering, running, collision, failure

        var label: String {
            switch self {
            case .invalid: return "invalid"
            case .registering: return "registering its host name"
            case .running: return "running"
            case .collision: return "host name collision"
            case .failure: return "failed"
            }
        }
    }

    /// AvahiEntryGroupState
    enum GroupState: Int32, Sendable {
        case uncommitted = 0, registering, established, collision, failure

        var label: String {
            switch self {
            case .uncommitted: return "not committed"
            case .registering: return "probing"
            case .established: return "established"
            case .collision: return "name collision"
            case .failure: return "failed"
            }
        }
    }
}

/// One `ItemNew`/`ItemRemove` of a service browser: `(iissu)` plus the type.
struct AvahiBrowseItem: Sendable, Hashable {
    var interface: Int32
    var proto: Int32
    var name: String
    var type: String
    var domain: String
    var flags: UInt32

    /// Nil when the arguments are not `iisssu` or the values make no sense.
    init?(arguments: [DBusValue]) {
        guard arguments.count == 6,
            let interface = arguments[0].int32Value, let proto = arguments[1].int32Value,
            let name = arguments[2].stringValue, let type = arguments[3].stringValue,
            let domain = arguments[4].stringValue, let flags = arguments[5].uint32Value,
            interface >= 0, proto == Avahi.protocolIPv4 || proto == Avahi.protocolIPv6,
            !name.isEmpty, name.utf8.count <= 63
        else { return nil }
        self.interface = interface
        self.proto = proto
        self.name = name
        self.type = type
        self.domain = domain
        self.flags = flags
    }
}

/// One `Found` of a service resolver: `iissssisqaayu`.
struct AvahiResolution: Sendable, Hashable {
    var interface: Int32
    var proto: Int32
    var name: String
    var host: String
    var addressProtocol: Int32
    var address: String
    var port: UInt16
    var txt: [String: String]

    /// Nil when the arguments have the wrong types or the address is not an IP address.
    init?(arguments: [DBusValue]) {
        guard arguments.count == 11,
            let interface = arguments[0].int32Value, let proto = arguments[1].int32Value,
            let name = arguments[2].stringValue, let host = arguments[5].stringValue,
            let addressProtocol = arguments[6].int32Value, let address = arguments[7].stringValue,
            let port = arguments[8].uint16Value, let txtEntries = arguments[9].arrayElements,
            arguments[10].uint32Value != nil,
            interface >= 0, !name.isEmpty, !host.isEmpty, host.utf8.count <= 255,
            Self.isIPAddress(address, family: addressProtocol)
        else { return nil }
        var entries: [[UInt8]] = []
        for entry in txtEntries.prefix(AvahiTXT.maxDecodedEntries) {
            guard let bytes = entry.bytesValue else { return nil }
            entries.append(bytes)
        }
        self.interface = interface
        self.proto = proto
        self.name = name
        self.host = host
        self.addressProtocol = addressProtocol
        self.address = address
        self.port = port
        self.txt = AvahiTXT.decode(entries)
    }

    /// Whether `text` is a plain IPv4 or IPv6 address of `family` (no scope, no junk).
    static func isIPAddress(_ text: String, family: Int32) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 45 else { return false }
        if family == Avahi.protocolIPv4 {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            return parts.count == 4 && parts.allSatisfy { part in
                part.count >= 1 && part.count <= 3 && part.allSatisfy(\.isASCII) && UInt8(part) != nil
            }
        }
        if family == Avahi.protocolIPv6 {
            return text.contains(":") && text.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
                    || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
                    || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".")
            }
        }
        return false
    }

    /// The address as peercollab dials it: link-local IPv6 carries its interface.
    func dialableAddress(interfaceName: String) -> String {
        guard addressProtocol == Avahi.protocolIPv6, address.lowercased().hasPrefix("fe80:"),
            !interfaceName.isEmpty
        else { return address }
        return "\(address)%\(interfaceName)"
    }
}
