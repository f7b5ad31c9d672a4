import DBus
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The moments when the network may have changed under us: resume from sleep (logind's
/// `PrepareForSleep(false)`) and NetworkManager reaching a connected state. Each calls
/// `onChange`, so that discovery re-announces and re-queries without anyone pressing refresh.
struct SystemEvents: Sendable {
    let bus: DBusBusAddress
    let logger: Logger

    /// NetworkManager's NM_STATE_CONNECTED_LOCAL, _SITE and _GLOBAL.
    static let connectedStates: Set<UInt32> = [50, 60, 70]

    /// Watches until cancelled; returns at once (with a log line) when there is no system bus.
    func watch(onChange: @escaping @Sendable (String) async -> Void) async {
        let connection: DBusConnection
        do {
            connection = try DBusConnection(bus: bus)
        } catch {
            logger.info("No system bus: resume and network changes will not trigger a refresh", metadata: ["reason": "\(error)"])
            return
        }
        defer { connection.close() }
        do {
            let sleep = try await connection.subscribe(to: DBusMatchRule(
                sender: "org.freedesktop.login1", path: "/org/freedesktop/login1",
                interface: "org.freedesktop.login1.Manager", member: "PrepareForSleep"))
            let network = try await connection.subscribe(to: DBusMatchRule(
                sender: "org.freedesktop.NetworkManager", path: "/org/freedesktop/NetworkManager",
                interface: "org.freedesktop.NetworkManager", member: "StateChanged"))
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await message in sleep where message.arguments().first?.boolValue == false {
                        await onChange("resumed from sleep")
                    }
                }
                group.addTask {
                    for await message in network {
                        if let state = message.arguments().first?.uint32Value, Self.connectedStates.contains(state) {
                            await onChange("network connected")
                        }
                    }
                }
                await group.waitForAll()
            }
        } catch {
            logger.notice("Failed to watch for resume and network changes: \(error), ignoring")
        }
    }

    /// Watches logind's `IdleHint` of this user (`org.freedesktop.login1.User`, found with
    /// `Manager.GetUser(uid)`; the desktop sets it when the screen idles) and calls `onIdle`
    /// with the first value and every change, until cancelled. When logind is not there yet,
    /// waits for it to appear; without a system bus, returns at once.
    func watchIdleHint(onIdle: @escaping @Sendable (Bool) async -> Void) async {
        let connection: DBusConnection
        do {
            connection = try DBusConnection(bus: bus)
        } catch {
            logger.info("No system bus: presence will not follow the session's idle hint", metadata: ["reason": "\(error)"])
            return
        }
        defer { connection.close() }
        let owners: AsyncStream<DBusMessage>
        do {
            owners = try await connection.subscribe(to: DBusMatchRule(
                sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged"))
        } catch {
            logger.notice("Failed to watch for logind: \(error), ignoring")
            return
        }
        var said = false
        while !Task.isCancelled {
            do {
                try await followIdleHint(on: connection, onIdle: onIdle)
                return
            } catch {
                if !said {
                    logger.info("logind does not answer; presence follows the idle hint once it does", metadata: ["reason": "\(error)"])
                    said = true
                }
            }
            // Wait until logind (re)appears, then try again.
            var appeared = false
            for await message in owners {
                let arguments = message.arguments()
                if arguments.first?.stringValue == Self.logind, arguments.count == 3, arguments[2].stringValue?.isEmpty == false {
                    appeared = true
                    break
                }
            }
            guard appeared else { return }
        }
    }

    static let logind = "org.freedesktop.login1"

    /// Subscribes first, so no change between the first read and the subscription is lost.
    private func followIdleHint(on connection: DBusConnection, onIdle: @escaping @Sendable (Bool) async -> Void) async throws {
        let reply = try await connection.call(
            destination: Self.logind, path: "/org/freedesktop/login1", interface: "org.freedesktop.login1.Manager",
            member: "GetUser", arguments: [.uint32(getuid())], timeout: .seconds(5))
        guard let path = reply.first?.objectPathValue else {
            throw DBusError(name: "org.peercollab.PeerCollab1.Error.Failed", message: "GetUser returned no object path")
        }
        let changes = try await connection.subscribe(to: DBusMatchRule(
            sender: Self.logind, path: path, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged"))
        @Sendable func read() async throws -> Bool {
            let value = try await connection.call(
                destination: Self.logind, path: path, interface: "org.freedesktop.DBus.Properties", member: "Get",
                arguments: [.string("org.freedesktop.login1.User"), .string("IdleHint")], timeout: .seconds(5))
            return value.first?.variantValue?.boolValue ?? false
        }
        await onIdle(try await read())
        logger.debug("Following logind's idle hint", metadata: ["user": "\(path)"])
        for await message in changes {
            let arguments = message.arguments()
            guard arguments.first?.stringValue == "org.freedesktop.login1.User", arguments.count == 3 else { continue }
            if let idle = arguments[1].vardictValue?["IdleHint"]?.boolValue {
                await onIdle(idle)
            } else if arguments[2].stringArrayValue?.contains("IdleHint") == true {
                await onIdle((try? await read()) ?? false)
            }
        }
    }
}
