import Collaboration
import DBus
import Discovery
import Logging
import PeerCollabAPI
import ServiceLifecycle
import Systemd

/// Serves the D-Bus API: exports the objects, then takes the name (so the first caller never
/// sees a half-built daemon), tells systemd it is ready, and turns domain events into signals
/// until shutdown, loss of the name, or loss of the bus.
struct BusService: Service {
    let configuration: DaemonConfiguration
    let collaboration: Collaboration
    let discovery: DiscoveryService
    let channels: ChannelHub
    /// For its `port choice` and `peer connections` checks.
    let network: PeerNetworkService
    let logger: Logger
    /// Launching accepted invitations' applications and notifying incoming ones.
    let invitationServices = InvitationServices()

    func run() async throws {
        let connection: DBusConnection
        do {
            connection = try DBusConnection(bus: configuration.bus)
        } catch let error as DBusError {
            throw DaemonError("Failed to connect to the bus: \(error.message). Is a session bus running (DBUS_SESSION_BUS_ADDRESS)?")
        }
        defer { connection.close() }

        let events = await collaboration.events()
        let discovery = self.discovery
        let collaboration = self.collaboration
        let network = self.network
        let context = BusContext(
            collaboration: collaboration, channels: channels,
            diagnose: {
                let report = await discovery.diagnose()
                return DiscoveryDiagnosis(backend: report.backend, checks: await LocalChecks.run(collaboration: collaboration) + (await network.checks()) + report.checks)
            })
        // Everything the domain holds now (stored contacts and applications) is exported as
        // the observer starts, before the object manager, so it costs no InterfacesAdded
        // nobody can receive yet; from then on every change is exported as it happens.
        let publisher = BusPublisher(objects: connection.objects, context: context, logger: logger)
        await collaboration.observe(publisher.publish)
        channels.setPublisher(publisher.channelPublisher)
        connection.objects.addObjectManager(at: BusPaths.root)
        try await connection.objects.export([BusObject<ManagerKind>(id: "", context: context).interface], at: BusPaths.root)
        await invitationServices.start(connection: connection, collaboration: collaboration, logger: logger)

        let nameLost = try await connection.subscribe(
            to: DBusMatchRule(sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameLost"))
        do {
            try await connection.requestName(PeerCollabBus.serviceName)
        } catch let error as DBusError {
            throw DaemonError("Failed to own \(PeerCollabBus.serviceName) on the bus: \(error.message). Stop the other instance first (systemctl --user stop peercollab).")
        }
        logger.info("Serving on the bus", metadata: ["name": "\(PeerCollabBus.serviceName)", "unique_name": "\(connection.uniqueName)"])
        _ = try? SystemdNotifier.ready(status: "Serving \(PeerCollabBus.serviceName)")

        // Outside the group below: its end must never decide how the service ends.
        let vanishedCallers = Task { await self.endWaitsOfVanishedCallers(on: connection) }
        defer { vanishedCallers.cancel() }
        let outcome = await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Ending.self) { group in
                group.addTask {
                    // What clients see went out already (the publisher); this is the
                    // desktop's part: launching and notifications.
                    for await event in events {
                        await self.invitationServices.handle(event, collaboration: collaboration)
                    }
                    return .shutdown
                }
                group.addTask {
                    for await message in nameLost where message.arguments().first?.stringValue == PeerCollabBus.serviceName {
                        return .nameLost
                    }
                    // The stream also ends when the bus goes away: that is busLost, not a shutdown.
                    await connection.waitUntilDisconnected()
                    return connection.isConnected ? .shutdown : .busLost
                }
                group.addTask {
                    await connection.waitUntilDisconnected()
                    return .busLost
                }
                let first = await group.next() ?? .shutdown
                group.cancelAll()
                return Task.isCancelled ? .shutdown : first
            }
        }
        _ = try? SystemdNotifier.stopping()
        switch outcome {
        case .shutdown:
            logger.info("Stopping: releasing the bus name")
            try? await connection.releaseName(PeerCollabBus.serviceName)
        case .nameLost:
            logger.notice("Another process took \(PeerCollabBus.serviceName); exiting")
        case .busLost:
            await invitationServices.stop()
            throw BusLost()
        }
        await invitationServices.stop()
    }

    private enum Ending: Sendable {
        case shutdown, nameLost, busLost
    }

    /// Ends the waits (Wait, Accept, Decline) of callers that left the bus, so none lingers
    /// until its invitation ends.
    private func endWaitsOfVanishedCallers(on connection: DBusConnection) async {
        guard let changes = try? await connection.subscribe(
            to: DBusMatchRule(sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged"))
        else { return }
        for await message in changes {
            let arguments = message.arguments()
            guard arguments.count == 3, let name = arguments[0].stringValue, name.hasPrefix(":"),
                arguments[2].stringValue == ""
            else { continue }
            await collaboration.callerVanished(name)
        }
    }
}

/// A fatal start-up or runtime error, with a message that says what to do.
struct DaemonError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
