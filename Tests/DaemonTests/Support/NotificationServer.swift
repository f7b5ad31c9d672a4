import DBus
import Synchronization

/// A freedesktop notification server of our own on a test's bus, built on the project's DBus
/// library: it owns `org.freedesktop.Notifications`, answers Notify, CloseNotification,
/// GetCapabilities and GetServerInformation as the specification says, and lets the test play
/// the user (press a button, dismiss a notification).
final class NotificationServer: Sendable {
    struct Notification: Sendable, Hashable {
        let id: UInt32
        let appName: String
        let replacesID: UInt32
        let appIcon: String
        let summary: String
        let body: String
        let actions: [String]
        let hints: [String: DBusValue]
        let expireTimeout: Int32
    }

    private struct State {
        var nextID: UInt32 = 1
        var notifyCalls: [Notification] = []
        var closeCalls: [UInt32] = []
        var onScreen: [UInt32: Notification] = [:]
    }

    static let name = "org.freedesktop.Notifications"
    static let path: DBusObjectPath = "/org/freedesktop/Notifications"
    static let interface = "org.freedesktop.Notifications"

    let connection: DBusConnection
    private let state = Mutex(State())

    private init(connection: DBusConnection) {
        self.connection = connection
    }

    /// Connects to the bus at `address`, exports the server and takes the name.
    static func start(bus address: String, capabilities: [String] = ["actions", "body"]) async throws -> NotificationServer {
        let server = NotificationServer(connection: try DBusConnection(bus: .address(address)))
        try await server.connection.objects.export([server.interface(capabilities: capabilities)], at: path)
        try await server.connection.requestName(name)
        return server
    }

    var notifyCalls: [Notification] { state.withLock { $0.notifyCalls } }
    var closeCalls: [UInt32] { state.withLock { $0.closeCalls } }
    var onScreen: [Notification] { state.withLock { Array($0.onScreen.values) } }

    /// The user pressed a button.
    func invokeAction(_ id: UInt32, _ key: String) throws {
        try connection.emitSignal(
            path: Self.path, interface: Self.interface, member: "ActionInvoked", arguments: [.uint32(id), .string(key)])
    }

    /// The user dismissed the notification (reason 2).
    func dismiss(_ id: UInt32) throws {
        state.withLock { _ = $0.onScreen.removeValue(forKey: id) }
        try connection.emitSignal(
            path: Self.path, interface: Self.interface, member: "NotificationClosed", arguments: [.uint32(id), .uint32(2)])
    }

    func stop() { connection.close() }

    private func interface(capabilities: [String]) -> DBusInterface {
        DBusInterface(
            name: Self.interface,
            methods: [
                DBusMethod(
                    "Notify",
                    in: [
                        DBusArgument("app_name", .string), DBusArgument("replaces_id", .uint32),
                        DBusArgument("app_icon", .string), DBusArgument("summary", .string),
                        DBusArgument("body", .string), DBusArgument("actions", .array(of: .string)),
                        DBusArgument("hints", .dictionary(.string, .variant)), DBusArgument("expire_timeout", .int32),
                    ],
                    out: [DBusArgument("id", .uint32)]
                ) { [self] call in
                    let a = call.arguments
                    let replaces = a[1].uint32Value ?? 0
                    let id = state.withLock { state -> UInt32 in
                        if replaces != 0, state.onScreen[replaces] != nil { return replaces }
                        defer { state.nextID += 1 }
                        return state.nextID
                    }
                    let notification = Notification(
                        id: id, appName: a[0].stringValue ?? "", replacesID: replaces, appIcon: a[2].stringValue ?? "",
                        summary: a[3].stringValue ?? "", body: a[4].stringValue ?? "", actions: a[5].stringArrayValue ?? [],
                        hints: a[6].vardictValue ?? [:], expireTimeout: a[7].int32Value ?? -1)
                    state.withLock {
                        $0.notifyCalls.append(notification)
                        $0.onScreen[id] = notification
                    }
                    return [.uint32(id)]
                },
                DBusMethod("CloseNotification", in: [DBusArgument("id", .uint32)]) { [self] call in
                    let id = call.arguments[0].uint32Value ?? 0
                    let wasOnScreen = state.withLock { state -> Bool in
                        state.closeCalls.append(id)
                        return state.onScreen.removeValue(forKey: id) != nil
                    }
                    // The specification: closed by a call to CloseNotification is reason 3.
                    if wasOnScreen {
                        try connection.emitSignal(
                            path: Self.path, interface: Self.interface, member: "NotificationClosed",
                            arguments: [.uint32(id), .uint32(3)])
                    }
                    return []
                },
                DBusMethod("GetCapabilities", out: [DBusArgument("capabilities", .array(of: .string))]) { _ in
                    [.strings(capabilities)]
                },
                DBusMethod(
                    "GetServerInformation",
                    out: [
                        DBusArgument("name", .string), DBusArgument("vendor", .string),
                        DBusArgument("version", .string), DBusArgument("spec_version", .string),
                    ]
                ) { _ in
                    [.string("peercollab-test"), .string("peercollab"), .string("1"), .string("1.2")]
                },
            ],
            signals: [
                DBusSignal("ActionInvoked", [DBusArgument("id", .uint32), DBusArgument("action_key", .string)]),
                DBusSignal("NotificationClosed", [DBusArgument("id", .uint32), DBusArgument("reason", .uint32)]),
            ])
    }
}
