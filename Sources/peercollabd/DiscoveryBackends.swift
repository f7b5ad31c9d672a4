import Collaboration
import DBus
import Discovery
import Logging

/// Which DNS-SD backend to use, from the command line, else the settings, else `auto`.
enum DiscoveryBackends {
    static let names = ["auto", "avahi", "builtin"]

    /// Makes the backend named by `choice`; `auto` takes Avahi whenever avahi-daemon is on the
    /// system bus, now or later (see ``AutoDiscoveryBackend``).
    static func make(
        choice: String, allow: [String], deny: [String]?, systemBus: DBusBusAddress, logger: Logger
    ) async throws -> any DiscoveryBackend {
        switch choice {
        case "builtin":
            return builtin(allow: allow, deny: deny, logger: logger)
        case "avahi":
            return try await avahi(allow: allow, deny: deny, systemBus: systemBus, logger: logger)
        case "auto":
            return await AutoDiscoveryBackend.start(
                systemBus: systemBus,
                connectAvahi: { try await avahi(allow: allow, deny: deny, systemBus: systemBus, logger: logger) },
                makeBuiltin: { builtin(allow: allow, deny: deny, logger: logger) }, logger: logger)
        default:
            throw DaemonError("Unknown discovery backend '\(choice)': use \(names.joined(separator: ", ")).")
        }
    }

    private static func builtin(allow: [String], deny: [String]?, logger: Logger) -> any DiscoveryBackend {
        BuiltinMDNSBackend(
            configuration: .init(allowInterfaces: allow, denyInterfaces: deny ?? InterfaceFilter.defaultDeny),
            logger: logger)
    }

    private static func avahi(
        allow: [String], deny: [String]?, systemBus: DBusBusAddress, logger: Logger
    ) async throws -> any DiscoveryBackend {
        try await AvahiBackend.connect(
            bus: systemBus,
            options: .init(
                allowedInterfaces: allow.isEmpty ? nil : Set(allow),
                deniedInterfaces: Set(deny ?? InterfaceFilter.defaultDeny)),
            logger: logger)
    }
}
