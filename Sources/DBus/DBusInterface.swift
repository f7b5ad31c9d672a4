/// One interface an object exports, declared once: the same table dispatches calls,
/// answers Properties calls and generates introspection data, so they cannot disagree.
public struct DBusInterface: Sendable {
    public let name: String
    public var methods: [DBusMethod]
    public var properties: [DBusProperty]
    public var signals: [DBusSignal]

    public init(
        name: String, methods: [DBusMethod] = [], properties: [DBusProperty] = [], signals: [DBusSignal] = []
    ) {
        precondition(DBusNames.isValidInterfaceName(name), "invalid interface name \(name)")
        self.name = name
        self.methods = methods
        self.properties = properties
        self.signals = signals
    }

    public func method(named member: String) -> DBusMethod? { methods.first { $0.name == member } }
    public func property(named member: String) -> DBusProperty? { properties.first { $0.name == member } }
    public func signal(named member: String) -> DBusSignal? { signals.first { $0.name == member } }
}

/// A named, typed argument of a method or signal.
public struct DBusArgument: Sendable, Hashable {
    public let name: String
    public let signature: DBusSignature

    public init(_ name: String, _ signature: DBusSignature) {
        precondition(signature.isSingleCompleteType, "argument \(name) must be one complete type")
        self.name = name
        self.signature = signature
    }
}

/// A method call as a handler sees it: who called, and the decoded arguments (their types
/// already checked against the declaration).
public struct DBusMethodCall: Sendable {
    public let message: DBusMessage
    public let arguments: [DBusValue]
    public var sender: String? { message.sender }
    public var path: DBusObjectPath { DBusObjectPath(unchecked: message.path ?? "/") }
}

/// A method: its arguments both ways and the code that answers it.
public struct DBusMethod: Sendable {
    public typealias Handler = @Sendable (DBusMethodCall) async throws -> [DBusValue]

    public let name: String
    public let inArguments: [DBusArgument]
    public let outArguments: [DBusArgument]
    public let handler: Handler

    public init(
        _ name: String, in inArguments: [DBusArgument] = [], out outArguments: [DBusArgument] = [],
        handler: @escaping Handler
    ) {
        precondition(DBusNames.isValidMemberName(name), "invalid method name \(name)")
        self.name = name
        self.inArguments = inArguments
        self.outArguments = outArguments
        self.handler = handler
    }

    public var inSignature: DBusSignature { .sequence(inArguments.map(\.signature)) }
    public var outSignature: DBusSignature { .sequence(outArguments.map(\.signature)) }
}

/// A signal an interface may emit.
public struct DBusSignal: Sendable {
    public let name: String
    public let arguments: [DBusArgument]

    public init(_ name: String, _ arguments: [DBusArgument] = []) {
        precondition(DBusNames.isValidMemberName(name), "invalid signal name \(name)")
        self.name = name
        self.arguments = arguments
    }

    public var signature: DBusSignature { .sequence(arguments.map(\.signature)) }
}

/// A property, with who may write it and how changes are announced.
public struct DBusProperty: Sendable {
    public typealias Getter = @Sendable () async throws -> DBusValue
    public typealias Setter = @Sendable (DBusValue, DBusMethodCall) async throws -> Void

    /// `org.freedesktop.DBus.Property.EmitsChangedSignal`.
    public enum ChangeSignal: String, Sendable {
        /// PropertiesChanged carries the new value.
        case emitsValue = "true"
        /// PropertiesChanged names it as invalidated, without the value.
        case invalidates = "invalidates"
        /// Never changes while the object exists.
        case constant = "const"
        /// Changes without a signal.
        case none = "false"
    }

    public let name: String
    public let signature: DBusSignature
    public let changeSignal: ChangeSignal
    public let get: Getter
    public let set: Setter?

    public init(
        _ name: String, _ signature: DBusSignature, changeSignal: ChangeSignal = .emitsValue,
        get: @escaping Getter, set: Setter? = nil
    ) {
        precondition(DBusNames.isValidMemberName(name), "invalid property name \(name)")
        precondition(signature.isSingleCompleteType, "property \(name) must be one complete type")
        self.name = name
        self.signature = signature
        self.changeSignal = changeSignal
        self.get = get
        self.set = set
    }

    public var isWritable: Bool { self.set != nil }
}
