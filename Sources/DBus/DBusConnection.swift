import CDBus
import Synchronization

/// A private connection to a message bus, driven by its own event-loop thread.
///
/// Calls, signals and replies may be sent from any task; they go out at once. Incoming
/// method calls are dispatched to the objects exported on ``objects``; signals go to
/// subscribers. An idle connection causes no wakeups.
///
/// libdbus connections are thread-safe once `dbus_threads_init_default()` ran (it runs
/// before the first connection is made); our own mutable state is behind `state`'s mutex.
public final class DBusConnection: @unchecked Sendable {
    let raw: OpaquePointer
    private let loop: DBusEventLoop
    /// The objects this connection exports.
    public let objects: DBusObjectServer
    /// The unique name the bus gave us, such as `:1.42`.
    public let uniqueName: String
    private let state = Mutex(ConnectionState())

    private struct ConnectionState {
        var subscriptions: [Int: (rules: [DBusMatchRule], continuation: AsyncStream<DBusMessage>.Continuation)] = [:]
        var nextSubscription = 0
        var disconnectWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
        /// Calls awaiting a reply; failed here when the connection ends, because libdbus
        /// forgets them then instead of completing them.
        var callsInFlight: [Int: PendingCall] = [:]
        var nextCall = 0
        var isConnected = true
        var isClosed = false
        /// Who owns the well-known senders of `subscriptions`.
        var owners = DBusSenderOwners()
    }

    private static let threadsReady: Bool = dbus_threads_init_default() != 0

    /// Connects, says hello to the bus, and starts the event loop.
    public init(bus: DBusBusAddress) throws {
        guard Self.threadsReady else { throw DBusError.noMemory() }
        var error = CDBus.DBusError()
        dbus_error_init(&error)
        defer { dbus_error_free(&error) }
        let connection: OpaquePointer?
        switch bus {
        case .session: connection = dbus_bus_get_private(DBUS_BUS_SESSION, &error)
        case .system: connection = dbus_bus_get_private(DBUS_BUS_SYSTEM, &error)
        case .address(let address):
            connection = dbus_connection_open_private(address, &error)
            if let connection, dbus_bus_register(connection, &error) == 0 {
                dbus_connection_close(connection)
                dbus_connection_unref(connection)
                throw Self.connectError(bus, error)
            }
        }
        guard let connection else { throw Self.connectError(bus, error) }
        dbus_connection_set_exit_on_disconnect(connection, 0)
        raw = connection
        uniqueName = dbus_bus_get_unique_name(connection).map { String(cString: $0) } ?? ""
        objects = DBusObjectServer()
        do {
            loop = try DBusEventLoop(connection: connection)
        } catch {
            dbus_connection_close(connection)
            dbus_connection_unref(connection)
            throw error
        }
        objects.attach(to: self)
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard dbus_connection_add_filter(connection, connectionFilter, me, nil) != 0 else {
            dbus_connection_close(connection)
            dbus_connection_unref(connection)
            throw DBusError.noMemory()
        }
        try loop.start()
    }

    private static func connectError(_ bus: DBusBusAddress, _ error: CDBus.DBusError) -> DBusError {
        let what: String
        switch bus {
        case .session: what = "the session bus"
        case .system: what = "the system bus"
        case .address(let address): what = "the bus at \(address)"
        }
        let reason = error.message.map { String(cString: $0) } ?? "unknown reason"
        let name = error.name.map { String(cString: $0) } ?? DBusError.StandardName.failed
        return DBusError(name: name, message: "Failed to connect to \(what): \(reason)")
    }

    deinit { close() }

    /// Stops the event loop and closes the connection; later sends fail with `Disconnected`.
    public func close() {
        let alreadyClosed = state.withLock { state -> Bool in
            defer { state.isClosed = true }
            return state.isClosed
        }
        guard !alreadyClosed else { return }
        // The filter goes now (libdbus allows that during a dispatch): its user data is this
        // object, which may be in its deinit.
        let me = Unmanaged.passUnretained(self).toOpaque()
        dbus_connection_remove_filter(raw, connectionFilter, me)
        markDisconnected()
        let connection = UInt(bitPattern: Int(bitPattern: raw))
        loop.stop {
            guard let raw = OpaquePointer(bitPattern: connection) else { return }
            dbus_connection_close(raw)
            dbus_connection_unref(raw)
        }
    }

    /// Whether the bus is still there.
    public var isConnected: Bool { state.withLock { $0.isConnected && !$0.isClosed } }

    /// Returns once the connection is lost (the bus went away) or closed, or the task is cancelled.
    public func waitUntilDisconnected() async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let waiting = state.withLock { state -> Bool in
                    guard state.isConnected, !Task.isCancelled else { return false }
                    state.disconnectWaiters[id] = continuation
                    return true
                }
                if !waiting { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.disconnectWaiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    // MARK: Sending

    /// Queues a message for sending; it is written at once. Returns its serial.
    @discardableResult
    public func send(_ message: DBusMessage) throws -> UInt32 {
        guard isConnected else { throw DBusError.disconnected("The D-Bus connection is closed") }
        var serial: UInt32 = 0
        guard dbus_connection_send(raw, message.raw, &serial) != 0 else { throw DBusError.noMemory() }
        return serial
    }

    /// Sends a method call and waits for its reply; an error reply is thrown as ``DBusError``.
    public func call(_ message: DBusMessage, timeout: Duration = .seconds(25)) async throws -> DBusMessage {
        guard isConnected else { throw DBusError.disconnected("The D-Bus connection is closed") }
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000
            + timeout.components.attoseconds / 1_000_000_000_000_000)
        var pendingPointer: OpaquePointer?
        guard dbus_connection_send_with_reply(raw, message.raw, &pendingPointer, max(1, milliseconds)) != 0 else {
            throw DBusError.noMemory()
        }
        guard let pending = pendingPointer else {
            throw DBusError.disconnected("The D-Bus connection is closed")
        }
        let call = PendingCall(pending)
        let (id, alive) = state.withLock { state -> (Int, Bool) in
            state.nextCall += 1
            state.callsInFlight[state.nextCall] = call
            return (state.nextCall, state.isConnected && !state.isClosed)
        }
        defer { state.withLock { _ = $0.callsInFlight.removeValue(forKey: id) } }
        if !alive { call.fail(Self.lostBeforeReply) }
        let reply = try await withTaskCancellationHandler {
            try await call.wait()
        } onCancel: {
            call.cancel()
        }
        if let error = reply.error { throw error }
        return reply
    }

    /// Calls a method and returns the reply's arguments.
    public func call(
        destination: String, path: DBusObjectPath, interface: String, member: String,
        arguments: [DBusValue] = [], timeout: Duration = .seconds(25)
    ) async throws -> [DBusValue] {
        let message = try DBusMessage.methodCall(
            destination: destination, path: path, interface: interface, member: member)
        try message.append(arguments)
        return try await call(message, timeout: timeout).arguments()
    }

    /// Emits a signal.
    public func emitSignal(
        path: DBusObjectPath, interface: String, member: String, arguments: [DBusValue] = [],
        destination: String? = nil
    ) throws {
        let message = try DBusMessage.signal(path: path, interface: interface, member: member)
        if let destination {
            // libdbus aborts the process on an invalid name instead of failing.
            guard DBusNames.isValidBusName(destination) else {
                throw DBusError.invalidArgs("'\(destination)' is not a valid D-Bus bus name")
            }
            guard dbus_message_set_destination(message.raw, destination) != 0 else { throw DBusError.noMemory() }
        }
        try message.append(arguments)
        try send(message)
    }

    // MARK: Names

    /// What became of a name request.
    public enum NameRequestResult: Sendable, Equatable {
        case primaryOwner, alreadyOwner
    }

    /// Asks the bus for a well-known name, without queueing; throws if someone else has it.
    @discardableResult
    public func requestName(_ name: String) async throws -> NameRequestResult {
        guard DBusNames.isValidBusName(name), !name.hasPrefix(":") else {
            throw DBusError.invalidArgs("'\(name)' is not a valid well-known bus name")
        }
        let reply = try await callBus("RequestName", [.string(name), .uint32(UInt32(DBUS_NAME_FLAG_DO_NOT_QUEUE))])
        switch reply.first?.uint32Value {
        case UInt32(DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER): return .primaryOwner
        case UInt32(DBUS_REQUEST_NAME_REPLY_ALREADY_OWNER): return .alreadyOwner
        default:
            throw DBusError(
                name: "org.freedesktop.DBus.Error.NameTaken",
                message: "The name \(name) is already owned by another process on this bus")
        }
    }

    /// Gives a well-known name back to the bus.
    public func releaseName(_ name: String) async throws {
        _ = try await callBus("ReleaseName", [.string(name)])
    }

    /// The unique name owning `name`, or nil when nobody does.
    public func nameOwner(_ name: String) async throws -> String? {
        do {
            return try await callBus("GetNameOwner", [.string(name)]).first?.stringValue
        } catch let error as DBusError where error.name == DBusError.StandardName.nameHasNoOwner {
            return nil
        }
    }

    private func callBus(_ member: String, _ arguments: [DBusValue]) async throws -> [DBusValue] {
        try await call(
            destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
            interface: "org.freedesktop.DBus", member: member, arguments: arguments)
    }

    // MARK: Signals in

    /// Subscribes to signals matching `rule`: the bus is asked to route them (AddMatch) and
    /// they arrive on the returned stream until it is dropped or the connection ends.
    ///
    /// A well-known `sender` is resolved to the unique name owning it, and followed as it
    /// changes hands: only signals from that owner arrive (none while nobody owns it), so
    /// no other client can forge them by sending them to us directly. A `sender` of
    /// `org.freedesktop.DBus` accepts only what the bus itself sends.
    public func subscribe(to rule: DBusMatchRule) async throws -> AsyncStream<DBusMessage> {
        try await subscribe(to: [rule])
    }

    /// Subscribes to signals matching any of `rules`, on one stream in the order they
    /// arrived (each message once): a client that must see, say, a service's signals and
    /// its name changing hands in their true order reads both from here.
    public func subscribe(to rules: [DBusMatchRule]) async throws -> AsyncStream<DBusMessage> {
        let (stream, continuation) = AsyncStream<DBusMessage>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        let followed = rules.compactMap { rule in rule.sender.flatMap { DBusSenderOwners.needsOwner($0) ? $0 : nil } }
        let id = state.withLock { state -> Int in
            state.nextSubscription += 1
            state.subscriptions[state.nextSubscription] = (rules, continuation)
            for name in followed { state.owners.retain(name) }
            return state.nextSubscription
        }
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            let unused = self.state.withLock { state -> [DBusMatchRule] in
                state.subscriptions[id] = nil
                for name in followed { state.owners.release(name) }
                return rules.filter { rule in !state.subscriptions.values.contains { $0.rules.contains(rule) } }
            }
            if self.isConnected {
                Task {
                    for name in followed {
                        _ = try? await self.callBus("RemoveMatch", [.string(DBusSenderOwners.ownerRule(name).description)])
                    }
                    for rule in unused { _ = try? await self.callBus("RemoveMatch", [.string(rule.description)]) }
                }
            }
        }
        do {
            for name in followed { try await followOwner(of: name) }
            for rule in rules { _ = try await callBus("AddMatch", [.string(rule.description)]) }
        } catch {
            continuation.finish()
            throw error
        }
        return stream
    }

    /// Asks for `name`'s owner changes first, then for its owner: a change in between is
    /// seen either way. One AddMatch per subscription, removed when it ends.
    private func followOwner(of name: String) async throws {
        _ = try await callBus("AddMatch", [.string(DBusSenderOwners.ownerRule(name).description)])
        let question = try DBusMessage.methodCall(
            destination: DBusSenderOwners.bus, path: "/org/freedesktop/DBus", interface: DBusSenderOwners.bus,
            member: "GetNameOwner")
        try question.append([.string(name)])
        let changesBefore = state.withLock { $0.owners.changeCount(of: name) }
        let owner: String?
        do {
            owner = try await call(question).arguments().first?.stringValue
        } catch let error as DBusError where error.name == DBusError.StandardName.nameHasNoOwner {
            owner = nil
        }
        let serial = question.serial
        state.withLock { $0.owners.resolved(name, owner: owner, serial: serial, changesBefore: changesBefore) }
    }

    // MARK: Incoming (event-loop thread)

    fileprivate func handle(_ message: DBusMessage) -> Bool {
        switch message.kind {
        case .methodCall:
            return objects.dispatch(message)
        case .signal:
            if message.path == "/org/freedesktop/DBus/Local", message.member == "Disconnected", message.sender == nil {
                markDisconnected()
                return false
            }
            // An owner change is applied before anyone sees the message, so that the new
            // owner's signals, which the bus sends after it, are accepted.
            let receivers = state.withLock { state in
                state.owners.observe(message)
                return state.subscriptions.values.filter { subscription in
                    subscription.rules.contains { rule in
                        rule.matches(message, senderOwner: rule.sender.flatMap(state.owners.owner(of:)))
                    }
                }.map(\.continuation)
            }
            for receiver in receivers { receiver.yield(message) }
            return false
        default:
            return false
        }
    }

    private static let lostBeforeReply = DBusError.disconnected(
        "The connection to the bus ended before the reply came; reconnect and call again")

    private func markDisconnected() {
        let (waiters, streams, calls) = state.withLock { state in
            state.isConnected = false
            defer {
                state.disconnectWaiters = [:]
                state.subscriptions = [:]
                state.callsInFlight = [:]
            }
            return (
                Array(state.disconnectWaiters.values), state.subscriptions.values.map(\.continuation),
                Array(state.callsInFlight.values))
        }
        for waiter in waiters { waiter.resume() }
        for stream in streams { stream.finish() }
        for call in calls { call.fail(Self.lostBeforeReply) }
    }
}

private func connectionFilter(
    _ connection: OpaquePointer?, _ message: OpaquePointer?, _ data: UnsafeMutableRawPointer?
) -> DBusHandlerResult {
    guard let message, let data else { return DBUS_HANDLER_RESULT_NOT_YET_HANDLED }
    let owner = Unmanaged<DBusConnection>.fromOpaque(data).takeUnretainedValue()
    let handled = owner.handle(DBusMessage(retaining: message))
    return handled ? DBUS_HANDLER_RESULT_HANDLED : DBUS_HANDLER_RESULT_NOT_YET_HANDLED
}
