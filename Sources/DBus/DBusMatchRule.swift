/// A signal match rule: what the bus should route to us, and what we route to a subscriber.
public struct DBusMatchRule: Hashable, Sendable, CustomStringConvertible {
    public var sender: String?
    public var path: DBusObjectPath?
    public var pathNamespace: DBusObjectPath?
    public var interface: String?
    public var member: String?
    /// The first argument, when it is a string: lets `NameOwnerChanged` be asked for one name
    /// instead of every client that comes and goes on the bus.
    public var arg0: String?

    public init(
        sender: String? = nil, path: DBusObjectPath? = nil, pathNamespace: DBusObjectPath? = nil,
        interface: String? = nil, member: String? = nil, arg0: String? = nil
    ) {
        self.sender = sender
        self.path = path
        self.pathNamespace = pathNamespace
        self.interface = interface
        self.member = member
        self.arg0 = arg0
    }

    /// The rule in the bus's `AddMatch` syntax.
    public var description: String {
        var parts = ["type='signal'"]
        if let sender { parts.append("sender='\(sender)'") }
        if let path { parts.append("path='\(path.rawValue)'") }
        if let pathNamespace { parts.append("path_namespace='\(pathNamespace.rawValue)'") }
        if let interface { parts.append("interface='\(interface)'") }
        if let member { parts.append("member='\(member)'") }
        // Inside quotes nothing is escaped; an apostrophe ends the quote, is escaped, and reopens it.
        if let arg0 { parts.append("arg0='\(arg0.split(separator: "'", omittingEmptySubsequences: false).joined(separator: #"'\''"#))'") }
        return parts.joined(separator: ",")
    }

    /// Whether a received signal fits, its sender included: a unique `sender` and the bus's
    /// own name (`org.freedesktop.DBus`, which only the bus can send as) are compared as they
    /// are; another well-known `sender` matches only a signal from `senderOwner`, the unique
    /// name that owns it now (``DBusConnection/subscribe(to:)`` follows it), and nothing
    /// when that is nil. Anyone can send a signal straight to us, whatever our rules say.
    public func matches(_ message: DBusMessage, senderOwner: String? = nil) -> Bool {
        guard message.kind == .signal else { return false }
        if let sender {
            let required = DBusSenderOwners.needsOwner(sender) ? senderOwner : sender
            guard let required, message.sender == required else { return false }
        }
        if let path, message.path != path.rawValue { return false }
        if let pathNamespace {
            guard let messagePath = message.path, let p = try? DBusObjectPath(messagePath),
                p == pathNamespace || p.isDescendant(of: pathNamespace)
            else { return false }
        }
        if let interface, message.interface != interface { return false }
        if let member, message.member != member { return false }
        if let arg0, message.firstStringArgument != arg0 { return false }
        return true
    }
}
