/// Which interfaces the built-in responder uses. Container and virtual plumbing is left out
/// by default; an allow list names the only interfaces to use (and overrides the deny list).
/// Patterns are exact names or a prefix followed by `*`.
public struct InterfaceFilter: Sendable, Hashable {
    /// Left out unless allowed: docker, bridges of containers and VMs, veth pairs, tunnels.
    public static let defaultDeny = ["docker*", "br-*", "virbr*", "veth*", "tun*", "tap*", "wg*", "lo"]

    public var allow: [String]
    public var deny: [String]

    public init(allow: [String] = [], deny: [String] = InterfaceFilter.defaultDeny) {
        self.allow = allow
        self.deny = deny
    }

    /// Why an interface is left out, or nil when it is used.
    public func exclusionReason(for interface: MDNSInterface) -> String? {
        let allowed = allow.contains { Self.matches($0, interface.name) }
        if !allow.isEmpty, !allowed { return "not in the allow list (\(allow.joined(separator: ", ")))" }
        if !allowed, let pattern = deny.first(where: { Self.matches($0, interface.name) }) { return "matches the deny pattern \(pattern)" }
        if interface.isLoopback { return "loopback" }
        if !interface.isUp { return "down" }
        if !interface.supportsMulticast { return "no multicast flag" }
        if interface.addresses.isEmpty { return "no IP address" }
        return nil
    }

    /// Whether the allow and deny lists let `name` be used (its other qualities aside).
    public func permits(_ name: String) -> Bool {
        let allowed = allow.contains { Self.matches($0, name) }
        if !allow.isEmpty { return allowed }
        return !deny.contains { Self.matches($0, name) }
    }

    static func matches(_ pattern: String, _ name: String) -> Bool {
        pattern.hasSuffix("*") ? name.hasPrefix(pattern.dropLast()) : name == pattern
    }
}
