import Collaboration
import DBus
import Discovery
import Logging
import ServiceLifecycle
import Systemd

/// Serves the D-Bus API: exports the objects, then takes the name (so the first caller never
/// sees a half-built daemon), tells systemd it is ready, and turns domain events into signals
/// until shutdown, loss of the name, or loss of the bus.
struct BusService: Service {
    let configuration: DaemonConfiguration
    let collaboration: Collaboration
    let discovery: DiscoveryService
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
        let objects = connection.objects
        let manager = ManagerObject(
            collaboration: collaboration,
            diagnose: {
                let report = await discovery.diagnose()
                return DiscoveryDiagnosis(backend: report.backend, checks: await LocalChecks.run(collaboration: collaboration) + report.checks)
            },
            exportContact: { await ContactObject.export($0, collaboration: collaboration, on: objects) },
            exportInvitation: { await InvitationObject.export($0, collaboration: collaboration, on: objects) })
        // Stored contacts and applications are there before anyone can ask, and before the
        // object manager, so that they cost no InterfacesAdded signals nobody can receive yet.
        for id in await collaboration.contactIDs {
            try await connection.objects.export([ContactObject(id: id, collaboration: collaboration).interface], at: BusNames.contactPath(id))
        }
        try await exportApplications(on: connection)
        connection.objects.addObjectManager(at: BusNames.root)
        try await connection.objects.export([manager.interface], at: BusNames.root)
        await invitationServices.start(connection: connection, collaboration: collaboration, logger: logger)

        let nameLost = try await connection.subscribe(
            to: DBusMatchRule(sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameLost"))
        do {
            try await connection.requestName(BusNames.service)
        } catch let error as DBusError {
            throw DaemonError("Failed to own \(BusNames.service) on the bus: \(error.message). Stop the other instance first (systemctl --user stop peercollab).")
        }
        logger.info("Serving on the bus", metadata: ["name": "\(BusNames.service)", "unique_name": "\(connection.uniqueName)"])
        _ = try? SystemdNotifier.ready(status: "Serving \(BusNames.service)")

        // Outside the group below: its end must never decide how the service ends.
        let vanishedCallers = Task { await self.endWaitsOfVanishedCallers(on: connection) }
        defer { vanishedCallers.cancel() }
        let outcome = await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Ending.self) { group in
                group.addTask {
                    for await event in events {
                        await self.publish(event, on: connection)
                    }
                    return .shutdown
                }
                group.addTask {
                    for await message in nameLost where message.arguments().first?.stringValue == BusNames.service {
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
            try? await connection.releaseName(BusNames.service)
        case .nameLost:
            logger.notice("Another process took \(BusNames.service); exiting")
        case .busLost:
            await invitationServices.stop()
            throw BusLost()
        }
        await invitationServices.stop()
    }

    private enum Ending: Sendable {
        case shutdown, nameLost, busLost
    }

    private func publish(_ event: CollaborationEvent, on connection: DBusConnection) async {
        do {
            switch event {
            case .managerChanged(let properties):
                try await connection.objects.emitPropertiesChanged(
                    path: BusNames.root, interface: BusNames.manager, properties: properties.map(\.rawValue).sorted())
            case .peerAdded(let id):
                try await connection.objects.export(
                    [PeerObject(id: id, collaboration: collaboration, exportContact: { await ContactObject.export($0, collaboration: collaboration, on: connection.objects) }).interface],
                    at: BusNames.peerPath(id))
            case .peerChanged(let id, let properties):
                try await connection.objects.emitPropertiesChanged(
                    path: BusNames.peerPath(id), interface: BusNames.peer, properties: properties.map(\.rawValue).sorted())
            case .peerRemoved(let id):
                try connection.objects.unexport(BusNames.peerPath(id))
            case .nearMeChanged:
                break  // The discovery service acts on it.
            case .contactAdded(let id):
                await ContactObject.export(id, collaboration: collaboration, on: connection.objects)
            case .contactChanged(let id, let properties):
                try await connection.objects.emitPropertiesChanged(
                    path: BusNames.contactPath(id), interface: BusNames.contact, properties: properties.map(\.rawValue).sorted())
            case .contactRemoved(let id):
                try connection.objects.unexport(BusNames.contactPath(id))
            case .applicationAdded, .applicationChanged, .applicationRemoved, .invitationAdded, .invitationChanged,
                .invitationRemoved, .invitationReceived, .invitationNotificationsChanged:
                try await publishInvitationEvent(event, on: connection)
            }
        } catch {
            logger.warning("Failed to emit a signal: \(error), ignoring")
        }
    }
}

/// A fatal start-up or runtime error, with a message that says what to do.
struct DaemonError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
