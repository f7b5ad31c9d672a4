import Collaboration
import DBus
import Discovery
import PeerCollabAPI

/// What the bus objects' handlers call into.
struct BusContext: Sendable {
    let collaboration: Collaboration
    /// The invitations' application channels (OpenChannel, Channels).
    let channels: ChannelHub
    /// The discovery backend's and the daemon's own checks, for `Diagnose`.
    let diagnose: @Sendable () async -> DiscoveryDiagnosis
}

/// One property of a kind of object: its API name and type, its value in the kind's view,
/// and how to set it, if it can be set.
struct PropertyRow<View: Sendable, Property: APIProperty>: Sendable {
    let property: Property
    let signature: DBusSignature
    let value: @Sendable (View) -> DBusValue
    /// The value when it is known without reading the view (a constant, or a name fixed at
    /// start): `Get` answers it without a hop into the domain.
    let fixed: (@Sendable (_ id: String, _ context: BusContext) -> DBusValue)?
    let set: (@Sendable (_ value: DBusValue, _ call: DBusMethodCall, _ id: String, _ context: BusContext) async throws -> Void)?

    init(
        _ property: Property, _ signature: DBusSignature, _ value: @escaping @Sendable (View) -> DBusValue,
        set: (@Sendable (_ value: DBusValue, _ call: DBusMethodCall, _ id: String, _ context: BusContext) async throws -> Void)? = nil
    ) {
        self.property = property
        self.signature = signature
        self.value = value
        self.fixed = nil
        self.set = set
    }

    /// A property whose value is known without the view; `value` gives the same for
    /// signals and listings.
    init(_ property: Property, _ signature: DBusSignature, fixed: @escaping @Sendable (_ id: String, _ context: BusContext) -> DBusValue,
         _ value: @escaping @Sendable (View) -> DBusValue) {
        self.property = property
        self.signature = signature
        self.value = value
        self.fixed = fixed
        self.set = nil
    }
}

/// One method of a kind of object, and the handler that answers it with the object's id and
/// the daemon's context.
struct MethodRow: Sendable {
    let name: String
    let inArguments: [DBusArgument]
    let outArguments: [DBusArgument]
    let handler: @Sendable (_ call: DBusMethodCall, _ id: String, _ context: BusContext) async throws -> [DBusValue]

    init(
        _ name: String, in inArguments: [DBusArgument] = [], out outArguments: [DBusArgument] = [],
        handler: @escaping @Sendable (_ call: DBusMethodCall, _ id: String, _ context: BusContext) async throws -> [DBusValue]
    ) {
        self.name = name
        self.inArguments = inArguments
        self.outArguments = outArguments
        self.handler = handler
    }
}

/// The one shape of every exported object (the Manager, peers, contacts, invitations,
/// applications): a static table of the interface, handlers that receive their context,
/// and one read of the whole object (its view) from which `GetAll`, `GetManagedObjects`,
/// `InterfacesAdded` and `PropertiesChanged` all take their values.
protocol ObjectKind: SendableMetatype {
    associatedtype View: Sendable
    associatedtype Property: APIProperty

    static var interfaceName: String { get }
    /// In declaration order (introspection and `GetAll`).
    static var properties: [PropertyRow<View, Property>] { get }
    static var methods: [MethodRow] { get }
    static var signals: [DBusSignal] { get }
    /// The object `id` as it is now, in one read; `UnknownObject` when it is gone.
    static func read(_ id: String, _ context: BusContext) async throws -> View
}

extension ObjectKind {
    static var signals: [DBusSignal] { [] }

    /// Every property's value in `view`, in declaration order.
    static func values(of view: View) -> [DBusValue] { properties.map { $0.value(view) } }

    /// The named properties' values in `view`, for `PropertiesChanged`.
    static func changes(in view: View, _ changed: Set<Property>) -> [(name: String, value: DBusValue)] {
        properties.filter { changed.contains($0.property) }.map { ($0.property.rawValue, $0.value(view)) }
    }

    /// The interface as introspection shows it; its handlers serve nothing, so no object
    /// and no running domain is needed.
    static var declaration: DBusInterface {
        DBusInterface(
            name: interfaceName,
            methods: methods.map { row in
                DBusMethod(row.name, in: row.inArguments, out: row.outArguments) { _ in throw DBusError.failed("Not served.") }
            },
            properties: properties.map { row in
                let set: DBusProperty.Setter? = row.set == nil ? nil : { @Sendable _, _ in throw DBusError.failed("Not served.") }
                return DBusProperty(row.property.rawValue, row.signature, changeSignal: row.property.change.busSignal, set: set)
            },
            signals: signals, readAll: { throw DBusError.failed("Not served.") })
    }
}

/// An exported object of kind `Kind`: one allocation whose closures capture only itself, so
/// that 10,000 contacts cost no closure context per property or method.
final class BusObject<Kind: ObjectKind>: Sendable {
    let id: String
    let context: BusContext

    init(id: String, context: BusContext) {
        self.id = id
        self.context = context
    }

    var interface: DBusInterface {
        let methods = Kind.methods.map { row in
            DBusMethod(row.name, in: row.inArguments, out: row.outArguments) { [self] call in try await self.answer(call) }
        }
        let properties = Kind.properties.map { row in
            let set: DBusProperty.Setter? = row.set == nil ? nil : { @Sendable [self] value, call in try await self.set(value, call) }
            return DBusProperty(row.property.rawValue, row.signature, changeSignal: row.property.change.busSignal, set: set)
        }
        let readAll: DBusInterface.ReadAll = { [self] in Kind.values(of: try await Kind.read(self.id, self.context)) }
        let readOne: DBusInterface.ReadOne = { [self] index in try await self.value(at: index) }
        return DBusInterface(
            name: Kind.interfaceName, methods: methods, properties: properties, signals: Kind.signals, readAll: readAll, readOne: readOne)
    }

    /// One property's value for `Get`: fixed ones without reading the view.
    private func value(at index: Int) async throws -> DBusValue {
        let row = Kind.properties[index]
        if let fixed = row.fixed { return fixed(id, context) }
        return row.value(try await Kind.read(id, context))
    }

    private func answer(_ call: DBusMethodCall) async throws -> [DBusValue] {
        guard let row = Kind.methods.first(where: { $0.name == call.message.member }) else {
            throw DBusError.unknownMethod("Unknown method '\(call.message.member ?? "")'.")
        }
        return try await row.handler(call, id, context)
    }

    private func set(_ value: DBusValue, _ call: DBusMethodCall) async throws {
        let name = call.arguments[1].stringValue ?? ""
        guard let set = Kind.properties.first(where: { $0.property.rawValue == name })?.set else {
            throw DBusError.propertyReadOnly("Property '\(name)' is not writable.")
        }
        try await set(value, call, id, context)
    }
}

extension PropertyChange {
    var busSignal: DBusProperty.ChangeSignal {
        switch self {
        case .emitsValue: .emitsValue
        case .constant: .constant
        }
    }
}

/// Argument readers shared by the handlers: the server checked the signature already.
extension DBusMethodCall {
    func string(_ index: Int) -> String { arguments[index].stringValue ?? "" }
}
