import DBus
import Logging

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
}
