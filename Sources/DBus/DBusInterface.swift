/// One interface an object exports, declared once: the same table dispatches calls,
/// answers Properties calls and generates introspection data, so they cannot disagree.
public struct DBusInterface: Sendable {
    /// Reads every property of an interface at once; see ``readAll``.
    public typealias ReadAll = @Sendable () async throws -> [DBusValue]
    /// Reads the property at an index of ``properties``; see ``readOne``.
    public typealias ReadOne = @Sendable (Int) async throws -> DBusValue

    public let name: String
    public var methods: [DBusMethod]
    public var properties: [DBusProperty]
    public var signals: [DBusSignal]
    /// Optional: the values of all ``properties``, in their order, read in one go (one hop
    /// into the actor that owns them instead of one per property). `GetAll`,
    /// `GetManagedObjects` and `InterfacesAdded` use it when it is there; `Get` and
    /// `PropertiesChanged` use a property's own getter when it has one, else this, so an
    /// interface whose properties have no getters reads everything from one place.
    /// Returning the wrong number of values, or a value of the wrong type, is answered as
    /// an internal error, as a getter's wrong type is.
    public var readAll: ReadAll?
    /// Optional: one property's value, for `Get` of a property without a getter, so that a
    /// value known without the owner's state (a version, a name fixed at start) needs no hop
    /// into the actor that owns the rest. Without it `Get` takes the value from ``readAll``.
    public var readOne: ReadOne?

    public init(
        name: String, methods: [DBusMethod] = [], properties: [DBusProperty] = [], signals: [DBusSignal] = [],
        readAll: ReadAll? = nil, readOne: ReadOne? = nil
    ) {
        precondition(DBusNames.isValidInterfaceName(name), "invalid interface name \(name)")
        precondition(readAll != nil || properties.allSatisfy { $0.get != nil }, "\(name): a property without a getter needs readAll")
        self.name = name
        self.methods = methods
        self.properties = properties
        self.signals = signals
        self.readAll = readAll
        self.readOne = readOne
    }

    /// Indices into `properties` in the order GetAll lists them: by name, and of two
    /// properties with one name only the later one (as a dictionary keyed by name would).
    /// Computed when asked, not stored: 10,000 exported objects would hold 10,000 copies.
    var listingOrder: [Int] {
        // Stable: equal names keep declaration order, so the last of each run is the later one.
        let properties = self.properties
        let sorted = properties.indices.sorted {
            (properties[$0].name, $0) < (properties[$1].name, $1)
        }
        return sorted.indices.compactMap { position in
            let next = position + 1
            if next < sorted.count, properties[sorted[next]].name == properties[sorted[position]].name { return nil }
            return sorted[position]
        }
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
    /// nil: the value comes from the interface's ``DBusInterface/readAll``.
    public let get: Getter?
    public let set: Setter?

    public init(
        _ name: String, _ signature: DBusSignature, changeSignal: ChangeSignal = .emitsValue,
        get: @escaping Getter, set: Setter? = nil
    ) {
        self.init(name, signature, changeSignal: changeSignal, getter: get, set: set)
    }

    /// A property read, with all the others, by its interface's ``DBusInterface/readAll``:
    /// the one read every kind of object has, so that each object costs no closure per
    /// property.
    public init(_ name: String, _ signature: DBusSignature, changeSignal: ChangeSignal = .emitsValue, set: Setter? = nil) {
        self.init(name, signature, changeSignal: changeSignal, getter: nil, set: set)
    }

    private init(_ name: String, _ signature: DBusSignature, changeSignal: ChangeSignal, getter: Getter?, set: Setter?) {
        precondition(DBusNames.isValidMemberName(name), "invalid property name \(name)")
        precondition(signature.isSingleCompleteType, "property \(name) must be one complete type")
        self.name = name
        self.signature = signature
        self.changeSignal = changeSignal
        self.get = getter
        self.set = set
    }

    public var isWritable: Bool { self.set != nil }
}

/// The listing orders of the interfaces one GetManagedObjects reads: objects of one kind
/// share their property names, so their order is sorted once per kind, not once per object.
struct ListingOrders {
    private var known: [String: (names: [String], order: [Int])] = [:]

    mutating func order(of interface: DBusInterface) -> [Int] {
        let properties = interface.properties
        if let entry = known[interface.name], entry.names.count == properties.count,
            entry.names.indices.allSatisfy({ entry.names[$0] == properties[$0].name })
        {
            return entry.order
        }
        let order = interface.listingOrder
        known[interface.name] = (properties.map(\.name), order)
        return order
    }
}
