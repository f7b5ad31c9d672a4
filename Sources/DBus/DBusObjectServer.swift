import Synchronization

/// The objects a connection exports, and the dispatch of method calls to them.
///
/// Besides the declared interfaces every object answers `Introspectable` and `Properties`
/// (and `Peer`, which libdbus answers itself); objects registered as object managers answer
/// `ObjectManager` for everything below them, and exporting or withdrawing an object below a
/// manager emits `InterfacesAdded` / `InterfacesRemoved`.
public final class DBusObjectServer: Sendable {
    private let state = Mutex(ServerState())

    private struct ServerState {
        weak var connection: DBusConnection?
        var objects: [DBusObjectPath: [DBusInterface]] = [:]
        var managers: Set<DBusObjectPath> = []
        var maximumArgumentBytes = DBusObjectServer.defaultMaximumArgumentBytes
    }

    /// The default of ``maximumArgumentBytes``: 256 KiB, four times peercollab's largest
    /// legitimate call (a 64 KiB contact card or object).
    public static let defaultMaximumArgumentBytes = 256 * 1024

    /// The most bytes of arguments (strings and byte arrays by their length) one method call
    /// may carry; larger calls get `LimitsExceeded` without being decoded. (The bus
    /// connection's own message limit is not lowered instead: libdbus disconnects the whole
    /// connection from the bus when one message passes it.)
    public var maximumArgumentBytes: Int {
        get { state.withLock { $0.maximumArgumentBytes } }
        set { state.withLock { $0.maximumArgumentBytes = max(0, newValue) } }
    }

    static let introspectableInterface = "org.freedesktop.DBus.Introspectable"
    static let propertiesInterface = "org.freedesktop.DBus.Properties"
    static let peerInterface = "org.freedesktop.DBus.Peer"
    static let objectManagerInterface = "org.freedesktop.DBus.ObjectManager"

    init() {}

    func attach(to connection: DBusConnection) {
        state.withLock { $0.connection = connection }
    }

    private var connection: DBusConnection? { state.withLock { $0.connection } }

    // MARK: Exporting

    /// Makes `path` answer `ObjectManager` for the objects below it.
    public func addObjectManager(at path: DBusObjectPath) {
        _ = state.withLock { $0.managers.insert(path) }
    }

    /// Exports interfaces at `path` (adding to any already there) and announces them with
    /// `InterfacesAdded` when an object manager is above. Throws if one of them is already
    /// exported there.
    public func export(_ interfaces: [DBusInterface], at path: DBusObjectPath) async throws {
        let (manager, isNew) = try register(interfaces, at: path)
        guard let manager, connection != nil else { return }
        var values: [[DBusValue]] = []
        for interface in interfaces { values.append(try await Self.values(of: interface)) }
        try announce(interfaces, at: path, values: values, isNew: isNew, below: manager)
    }

    /// Exports interfaces at `path` and announces them with the property values the caller
    /// read already (one per property of each interface, in declaration order), at once and
    /// without calling any getter: an owner that exports as its state changes announces
    /// exactly the state it has, before it answers the call that changed it. The values are
    /// checked against the declarations first; nothing is exported when they do not fit.
    public func export(_ interfaces: [DBusInterface], at path: DBusObjectPath, values: [[DBusValue]]) throws {
        guard values.count == interfaces.count else {
            throw DBusError.failed("Internal error: \(values.count) value lists for \(interfaces.count) interfaces at \(path)")
        }
        for (interface, list) in zip(interfaces, values) {
            try Self.check(list, of: interface)
            try Self.validate(list, in: interface.listingOrder)
        }
        let (manager, isNew) = try register(interfaces, at: path)
        guard let manager else { return }
        try announce(interfaces, at: path, values: values, isNew: isNew, below: manager)
    }

    /// Adds the interfaces at `path`; returns the object manager above it and whether the
    /// object is new. Throws, adding nothing, if one of them is there already.
    private func register(_ interfaces: [DBusInterface], at path: DBusObjectPath) throws -> (manager: DBusObjectPath?, isNew: Bool) {
        try state.withLock { state in
            let existing = state.objects[path] ?? []
            for interface in interfaces where existing.contains(where: { $0.name == interface.name }) {
                throw DBusError.failed("Interface \(interface.name) is already exported at \(path)")
            }
            state.objects[path] = existing + interfaces
            return (Self.manager(above: path, in: state.managers), existing.isEmpty)
        }
    }

    /// `InterfacesAdded` for interfaces just registered, with their values.
    private func announce(
        _ interfaces: [DBusInterface], at path: DBusObjectPath, values: [[DBusValue]], isNew: Bool, below manager: DBusObjectPath
    ) throws {
        guard let connection else { return }
        var entries: [DBusDictionaryEntry] = []
        for (interface, list) in zip(interfaces, values) {
            entries.append(DBusDictionaryEntry(.string(interface.name), Self.listing(of: interface, list, in: interface.listingOrder)))
        }
        if isNew {
            // A new object: name the standard interfaces too, as sd-bus and GDBus do.
            for name in Self.standardInterfaces {
                entries.append(DBusDictionaryEntry(.string(name), .vardict([:])))
            }
        }
        try connection.emitSignal(
            path: manager, interface: Self.objectManagerInterface, member: "InterfacesAdded",
            arguments: [.objectPath(path), .dictionary(key: .string, value: .dictionary(.string, .variant), entries)])
    }

    /// Withdraws the object at `path` (all its interfaces) and announces `InterfacesRemoved`.
    public func unexport(_ path: DBusObjectPath) throws {
        let (removed, manager) = state.withLock { state -> ([DBusInterface], DBusObjectPath?) in
            let removed = state.objects.removeValue(forKey: path) ?? []
            return (removed, Self.manager(above: path, in: state.managers))
        }
        guard !removed.isEmpty, let manager, let connection else { return }
        let names = removed.map(\.name) + [Self.peerInterface, Self.introspectableInterface, Self.propertiesInterface]
        try connection.emitSignal(
            path: manager, interface: Self.objectManagerInterface, member: "InterfacesRemoved",
            arguments: [.objectPath(path), .strings(names)])
    }

    /// The paths exported now.
    public var exportedPaths: [DBusObjectPath] { state.withLock { Array($0.objects.keys) } }

    private func isExported(_ path: DBusObjectPath) -> Bool {
        state.withLock { $0.objects[path] != nil }
    }

    private func interfaces(at path: DBusObjectPath) -> [DBusInterface]? {
        state.withLock { $0.objects[path] }
    }

    private static func manager(above path: DBusObjectPath, in managers: Set<DBusObjectPath>) -> DBusObjectPath? {
        managers.filter { path.isDescendant(of: $0) }.max { $0.rawValue.count < $1.rawValue.count }
    }

    // MARK: Signals out

    /// Emits a declared signal, checking the arguments against its declaration.
    public func emit(
        path: DBusObjectPath, interface: String, signal member: String, arguments: [DBusValue]
    ) throws {
        guard let declared = interfaces(at: path)?.first(where: { $0.name == interface })?.signal(named: member)
        else { throw DBusError.failed("Signal \(interface).\(member) is not declared at \(path)") }
        let actual = DBusSignature.sequence(arguments.map(\.signature))
        guard actual == declared.signature else {
            throw DBusError.invalidArgs("Signal \(member) takes '\(declared.signature)', not '\(actual)'")
        }
        try connection?.emitSignal(path: path, interface: interface, member: member, arguments: arguments)
    }

    /// Emits `PropertiesChanged` with values the caller read already, at once, as each
    /// property's declaration says (with the value, as invalidated, or not at all); names
    /// the interface does not declare are ignored, and nothing is sent when nothing is left.
    public func emitPropertiesChanged(path: DBusObjectPath, interface: String, values: [(name: String, value: DBusValue)]) throws {
        guard let declared = interfaces(at: path)?.first(where: { $0.name == interface }) else { return }
        var changed: [String: DBusValue] = [:]
        var invalidated: [String] = []
        for (name, value) in values {
            guard let property = declared.property(named: name) else { continue }
            guard value.signature == property.signature else {
                throw DBusError.failed("Internal error: property \(name) produced '\(value.signature)'.")
            }
            switch property.changeSignal {
            case .emitsValue: changed[name] = value
            case .invalidates: invalidated.append(name)
            case .constant, .none: break
            }
        }
        guard !changed.isEmpty || !invalidated.isEmpty else { return }
        for value in changed.values { try DBusMarshal.validate(value) }
        try connection?.emitSignal(
            path: path, interface: Self.propertiesInterface, member: "PropertiesChanged",
            arguments: [.string(interface), .vardict(changed), .strings(invalidated)])
    }

    /// Emits `PropertiesChanged` for the named properties, as each one's declaration says:
    /// with the new value, as invalidated, or not at all.
    public func emitPropertiesChanged(path: DBusObjectPath, interface: String, properties names: [String]) async throws {
        guard let declared = interfaces(at: path)?.first(where: { $0.name == interface }) else { return }
        var changed: [String: DBusValue] = [:]
        var invalidated: [String] = []
        for name in names {
            guard let property = declared.property(named: name) else { continue }
            switch property.changeSignal {
            case .emitsValue: changed[name] = try await Self.value(of: property, in: declared)
            case .invalidates: invalidated.append(name)
            case .constant, .none: break
            }
        }
        guard !changed.isEmpty || !invalidated.isEmpty else { return }
        try connection?.emitSignal(
            path: path, interface: Self.propertiesInterface, member: "PropertiesChanged",
            arguments: [.string(interface), .vardict(changed), .strings(invalidated)])
    }

    // MARK: Dispatch (event-loop thread)

    /// Routes a method call; always answers (or deliberately stays silent for no-reply calls).
    func dispatch(_ message: DBusMessage) -> Bool {
        guard let connection else { return false }
        guard let pathText = message.path, let member = message.member else { return false }
        // Measured before anything is decoded, here on the event-loop thread, so that a
        // huge call costs others no more than reading `maximumArgumentBytes` would.
        let limit = maximumArgumentBytes
        guard DBusArgumentSize.measure(message, limit: limit) <= limit else {
            return reply(message, .limitsExceeded(
                "The arguments of \(member) are larger than \(limit / 1024) KiB, the most a call may carry; nothing was done. Send less (a contact card and an object are at most 64 KiB)."))
        }
        let path = DBusObjectPath(unchecked: pathText)
        let interfaceName = message.interface
        let (interfaces, isManager) = state.withLock { state in
            (state.objects[path], state.managers.contains(path))
        }
        // A job builds the whole reply: most from the values they return, GetAll and
        // GetManagedObjects by writing straight into the message (see DBusBodyWriter).
        let job: @Sendable () async throws -> DBusMessage
        if interfaceName == Self.introspectableInterface || (interfaceName == nil && member == "Introspect") {
            guard member == "Introspect" else { return reply(message, .unknownMethod(unknownMethod(member, interfaceName, message))) }
            // Only Introspect needs to know whether anything lies below: a walk over every
            // object, which with 10,000 exported contacts cost every other call 0.3 ms.
            let hasChildren = interfaces == nil && state.withLock { state in state.objects.keys.contains { $0.isDescendant(of: path) } }
            guard interfaces != nil || isManager || hasChildren || path == .root else {
                return reply(message, .unknownObject("Unknown object '\(path)'."))
            }
            job = { [self] in try Self.reply(to: message, [.string(self.introspectionXML(for: path))]) }
        } else if let interfaces {
            if interfaceName == Self.propertiesInterface {
                job = { try await Self.handleProperties(member, message, interfaces) }
            } else if interfaceName == Self.objectManagerInterface, isManager {
                guard member == "GetManagedObjects" else {
                    return reply(message, .unknownMethod(unknownMethod(member, interfaceName, message)))
                }
                job = { [self] in try await self.managedObjects(below: path, replyingTo: message) }
            } else {
                let candidates = interfaceName.map { name in interfaces.filter { $0.name == name } } ?? interfaces
                if let interfaceName, candidates.isEmpty {
                    return reply(message, .unknownInterface("Unknown interface '\(interfaceName)' at '\(path)'."))
                }
                guard let method = candidates.lazy.compactMap({ $0.method(named: member) }).first else {
                    return reply(message, .unknownMethod(unknownMethod(member, interfaceName, message)))
                }
                guard message.signature == method.inSignature else {
                    return reply(message, .invalidArgs(
                        "Invalid arguments for \(member): expected '\(method.inSignature)', got '\(message.signature)'."))
                }
                let call = DBusMethodCall(message: message, arguments: message.arguments())
                job = {
                    let values = try await method.handler(call)
                    let actual = DBusSignature.sequence(values.map(\.signature))
                    guard actual == method.outSignature else {
                        throw DBusError.failed("Internal error: \(member) produced '\(actual)' instead of '\(method.outSignature)'.")
                    }
                    return try Self.reply(to: message, values)
                }
            }
        } else if isManager, interfaceName == Self.objectManagerInterface, member == "GetManagedObjects" {
            job = { [self] in try await self.managedObjects(below: path, replyingTo: message) }
        } else {
            return reply(message, .unknownObject("Unknown object '\(path)'."))
        }
        // Immediate: the handler runs here, on the event-loop thread, until it first suspends.
        // A getter that never suspends replies without a thread hop (the hop was most of a
        // Get's cost); the price is that a handler must not block before its first `await`.
        Task.immediate {
            do {
                let reply = try await job()
                if !message.noReply { try connection.send(reply) }
            } catch {
                self.reply(message, Self.busError(for: error), on: connection)
            }
        }
        return true
    }

    private func unknownMethod(_ member: String, _ interface: String?, _ message: DBusMessage) -> String {
        "Unknown method '\(member)' or interface '\(interface ?? "(none)")' with signature '\(message.signature)'."
    }

    private static func busError(for error: any Error) -> DBusError {
        if let convertible = error as? any DBusErrorConvertible { return convertible.dbusError }
        if error is CancellationError { return .failed("The request was cancelled.") }
        return .failed("The request failed unexpectedly.")
    }

    @discardableResult
    private func reply(_ message: DBusMessage, _ error: DBusError) -> Bool {
        guard let connection else { return false }
        reply(message, error, on: connection)
        return true
    }

    private func reply(_ message: DBusMessage, _ error: DBusError, on connection: DBusConnection) {
        guard !message.noReply, let reply = try? message.makeErrorReply(error) else { return }
        _ = try? connection.send(reply)
    }

    /// The reply carrying `values`, checked whole before any of it is written.
    private static func reply(to message: DBusMessage, _ values: [DBusValue]) throws -> DBusMessage {
        let reply = try message.makeReply()
        try reply.append(values)
        return reply
    }

    // MARK: Properties

    /// Named in every object's entry of GetManagedObjects and InterfacesAdded, without properties.
    private static let standardInterfaces = [peerInterface, introspectableInterface, propertiesInterface]

    private static func handleProperties(_ member: String, _ message: DBusMessage, _ interfaces: [DBusInterface])
        async throws -> DBusMessage
    {
        let arguments = message.arguments()
        func interface(_ name: String) throws -> DBusInterface {
            guard let found = interfaces.first(where: { $0.name == name }) else {
                throw DBusError.unknownInterface("Unknown interface '\(name)'.")
            }
            return found
        }
        func property(_ interfaceName: String, _ name: String) throws -> DBusProperty {
            guard let found = try interface(interfaceName).property(named: name) else {
                throw DBusError.unknownProperty("Unknown property '\(name)' on interface '\(interfaceName)'.")
            }
            return found
        }
        switch (member, message.signature.rawValue) {
        case ("Get", "ss"):
            let chosen = try interface(arguments[0].stringValue!)
            let p = try property(arguments[0].stringValue!, arguments[1].stringValue!)
            return try reply(to: message, [.variant(try await value(of: p, in: chosen))])
        case ("GetAll", "s"):
            let name = arguments[0].stringValue!
            // An empty name lists every interface's properties, one after the other.
            let chosen = name.isEmpty ? interfaces : [try interface(name)]
            var read: [[DBusValue]] = []
            read.reserveCapacity(chosen.count)
            for interface in chosen { read.append(try await values(of: interface)) }
            let orders = chosen.map(\.listingOrder)
            for index in read.indices { try validate(read[index], in: orders[index]) }
            let reply = try message.makeReply()
            let writer = DBusBodyWriter(reply)
            try writer.open(DBusMarshal.typeArray, "{sv}")
            for index in read.indices { try write(read[index], of: chosen[index], in: orders[index], to: writer) }
            try writer.close()
            return reply
        case ("Set", "ssv"):
            let interfaceName = arguments[0].stringValue!
            let name = arguments[1].stringValue!
            let p = try property(interfaceName, name)
            guard let setter = p.set else {
                throw DBusError.propertyReadOnly("Property '\(name)' is not writable.")
            }
            guard let newValue = arguments[2].variantValue, newValue.signature == p.signature else {
                throw DBusError.invalidArgs(
                    "Property '\(name)' has type '\(p.signature)', not '\(arguments[2].variantValue?.signature.rawValue ?? "?")'.")
            }
            try await setter(newValue, DBusMethodCall(message: message, arguments: arguments))
            return try reply(to: message, [])
        case ("Get", _), ("GetAll", _), ("Set", _):
            throw DBusError.invalidArgs("Invalid arguments for \(member): got '\(message.signature)'.")
        default:
            throw DBusError.unknownMethod("Unknown method '\(member)' on interface '\(Self.propertiesInterface)'.")
        }
    }

    /// One property's value: from its getter, else its interface's `readOne`, else `readAll`.
    private static func value(of property: DBusProperty, in interface: DBusInterface) async throws -> DBusValue {
        guard let get = property.get else {
            let index = interface.properties.firstIndex { $0.name == property.name }!
            guard let readOne = interface.readOne else { return try await values(of: interface)[index] }
            let value = try await readOne(index)
            guard value.signature == property.signature else {
                throw DBusError.failed("Internal error: property \(property.name) produced '\(value.signature)'.")
            }
            return value
        }
        let value = try await get()
        guard value.signature == property.signature else {
            throw DBusError.failed("Internal error: property \(property.name) produced '\(value.signature)'.")
        }
        return value
    }

    /// The values of all of an interface's properties, in declaration order: from its
    /// `readAll` in one go when it has one, else one getter after the other.
    private static func values(of interface: DBusInterface) async throws -> [DBusValue] {
        guard let readAll = interface.readAll else {
            var values: [DBusValue] = []
            values.reserveCapacity(interface.properties.count)
            for property in interface.properties { values.append(try await value(of: property, in: interface)) }
            return values
        }
        let values = try await readAll()
        try check(values, of: interface)
        return values
    }

    /// Throws unless `values` has one value of the declared type per property of `interface`.
    private static func check(_ values: [DBusValue], of interface: DBusInterface) throws {
        guard values.count == interface.properties.count else {
            throw DBusError.failed(
                "Internal error: \(interface.name) read \(values.count) properties instead of \(interface.properties.count).")
        }
        for index in values.indices where values[index].signature != interface.properties[index].signature {
            throw DBusError.failed(
                "Internal error: property \(interface.properties[index].name) produced '\(values[index].signature)'.")
        }
    }

    /// Throws what writing the listed values would throw, before any of them is written:
    /// libdbus cannot take back part of a message.
    private static func validate(_ values: [DBusValue], in order: [Int]) throws {
        for index in order { try DBusMarshal.validate(values[index]) }
    }

    /// The `{sv}` entries of an interface's values (inside an open `a{sv}`) in its listing
    /// order; the values have passed `validate`.
    private static func write(
        _ values: [DBusValue], of interface: DBusInterface, in order: [Int], to writer: DBusBodyWriter
    ) throws {
        // Fields read in place: copying a DBusProperty retains its name, signature and closures.
        for index in order {
            try writer.open(DBusMarshal.typeDictEntry)
            try writer.appendName(interface.properties[index].name)
            try writer.open(DBusMarshal.typeVariant, interface.properties[index].signature.rawValue)
            try writer.append(values[index], validated: true)
            try writer.close()
            try writer.close()
        }
    }

    /// An interface's values as the `a{sv}` GetAll lists, for a signal's arguments.
    private static func listing(of interface: DBusInterface, _ values: [DBusValue], in order: [Int]) -> DBusValue {
        .dictionary(
            key: .string, value: .variant,
            order.map { DBusDictionaryEntry(.string(interface.properties[$0].name), .variant(values[$0])) })
    }

    /// GetManagedObjects, written into the reply one object at a time as soon as that
    /// object's properties are read: with 10,000 objects the reply used to exist twice, as a
    /// ``DBusValue`` tree (about 45 MB) and marshalled, and glibc kept the tree's memory.
    private func managedObjects(below manager: DBusObjectPath, replyingTo message: DBusMessage) async throws
        -> DBusMessage
    {
        var objects = state.withLock { state in
            var below: [(path: DBusObjectPath, interfaces: [DBusInterface])] = []
            below.reserveCapacity(state.objects.count)
            for (path, interfaces) in state.objects where path.isDescendant(of: manager) {
                below.append((path, interfaces))
            }
            return below
        }
        objects.sort { $0.path < $1.path }
        let reply = try message.makeReply()
        let writer = DBusBodyWriter(reply)
        try writer.open(DBusMarshal.typeArray, "{oa{sa{sv}}}")
        var read: [[DBusValue]] = []
        var orders: [[Int]] = []
        var listingOrders = ListingOrders()
        objects: for (path, interfaces) in objects {
            read.removeAll(keepingCapacity: true)
            for index in interfaces.indices {
                // An object withdrawn while we read it is simply no longer there; it must not
                // fail the listing of all the others.
                guard let values = try? await Self.values(of: interfaces[index]), isExported(path) else { continue objects }
                read.append(values)
            }
            orders.removeAll(keepingCapacity: true)
            for index in read.indices {
                orders.append(listingOrders.order(of: interfaces[index]))
                try Self.validate(read[index], in: orders[index])
            }
            try writer.open(DBusMarshal.typeDictEntry)
            try writer.append(path)
            try writer.open(DBusMarshal.typeArray, "{sa{sv}}")
            for index in read.indices {
                try writer.open(DBusMarshal.typeDictEntry)
                try writer.appendName(interfaces[index].name)
                try writer.open(DBusMarshal.typeArray, "{sv}")
                try Self.write(read[index], of: interfaces[index], in: orders[index], to: writer)
                try writer.close()
                try writer.close()
            }
            for name in Self.standardInterfaces {
                try writer.open(DBusMarshal.typeDictEntry)
                try writer.appendName(name)
                try writer.open(DBusMarshal.typeArray, "{sv}")
                try writer.close()
                try writer.close()
            }
            try writer.close()
            try writer.close()
        }
        try writer.close()
        return reply
    }

    // MARK: Introspection

    /// The introspection document of `path`: standard and declared interfaces and the
    /// names of the nodes directly below.
    public func introspectionXML(for path: DBusObjectPath) -> String {
        let (interfaces, isManager, children) = state.withLock { state in
            let prefix = path.rawValue == "/" ? "/" : path.rawValue + "/"
            let children = Set(state.objects.keys.compactMap { child -> String? in
                guard child.isDescendant(of: path) else { return nil }
                return child.rawValue.dropFirst(prefix.count).split(separator: "/").first.map(String.init)
            })
            return (state.objects[path] ?? [], state.managers.contains(path), children.sorted())
        }
        var xml = DBusIntrospection.header + "<node>\n"
        xml += DBusIntrospection.standardInterfaces(objectManager: isManager)
        for interface in interfaces { xml += DBusIntrospection.xml(for: interface) }
        for child in children { xml += " <node name=\"\(child)\"/>\n" }
        xml += "</node>\n"
        return xml
    }
}
