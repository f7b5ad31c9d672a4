import DBus
import Logging

/// Desktop notifications for incoming invitations, through the freedesktop notification
/// server (`org.freedesktop.Notifications`), with Accept and Decline buttons whose answers
/// arrive on ``responses``.
///
/// One notification per invitation: showing an invitation again replaces its notification.
/// Without a notification server (a headless session) nothing is shown and nothing waits: the
/// notifier learns from the bus that the name has no owner, and learns from `NameOwnerChanged`
/// when one appears. A server that fails a call is not asked again until it is replaced.
actor InvitationNotifier {
    static let busName = "org.freedesktop.Notifications"
    static let path: DBusObjectPath = "/org/freedesktop/Notifications"
    static let interface = "org.freedesktop.Notifications"

    /// The user's answer to an invitation, from a notification's button.
    enum Answer: String, Sendable, Hashable {
        case accept, decline
    }

    /// Which invitation the user answered, and how.
    struct Response: Sendable, Hashable {
        let invitationID: String
        let answer: Answer
    }

    /// Answers in the order the user gave them. Dismissing a notification is no answer: the
    /// invitation stays pending. An answer does not withdraw the notification (most servers
    /// close it themselves): call ``withdraw(invitationID:)`` when the invitation leaves
    /// pending. Finishes when the notifier stops.
    nonisolated let responses: AsyncStream<Response>
    private let responseContinuation: AsyncStream<Response>.Continuation
    /// One element each time a notification server takes the name (a login race, a shell
    /// restart): it knows none of the notifications shown before, so the owner shows the
    /// invitations still waiting again. Finishes when the notifier stops.
    nonisolated let serverAppearances: AsyncStream<Void>
    private let appearanceContinuation: AsyncStream<Void>.Continuation

    private let connection: DBusConnection
    private let logger: Logger
    private let appName: String
    private let desktopEntry: String
    private let expireTimeout: Int32
    private var isEnabled: Bool
    /// Whether a call can reach a server now: the name has an owner, or the bus can activate one.
    private var serverReachable = false
    private var isActivatable = false
    /// The server wants markup in the body, so peer-supplied text must be escaped.
    private var bodyIsMarkup = false
    private var notificationIDs: [String: UInt32] = [:]
    private var invitationIDs: [UInt32: String] = [:]
    private var listener: Task<Void, Never>?
    /// Bus calls run one after another, so that showing an invitation twice at once cannot
    /// create two notifications.
    private var lastOperation: Task<Void, Never>?

    /// - Parameters:
    ///   - enabled: whether notifications are shown at all (a user setting).
    ///   - desktopEntry: the `desktop-entry` hint, so the server shows our name and icon.
    ///   - expireTimeout: milliseconds; 0, the default, keeps the notification until answered,
    ///     dismissed or withdrawn (the daemon withdraws it when the invitation ends).
    init(
        connection: DBusConnection, logger: Logger, enabled: Bool = true, appName: String = "peercollab",
        desktopEntry: String = "peercollab", expireTimeout: Int32 = 0
    ) {
        self.connection = connection
        self.logger = logger
        isEnabled = enabled
        self.appName = appName
        self.desktopEntry = desktopEntry
        self.expireTimeout = expireTimeout
        (responses, responseContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(256))
        (serverAppearances, appearanceContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Starts listening to the server's signals and to its name coming and going, and learns
    /// whether a server is there. Call once, before ``show(invitationID:summary:body:)``.
    func start() async throws {
        guard listener == nil else { return }
        let actions = try await connection.subscribe(to: DBusMatchRule(
            sender: Self.busName, path: Self.path, interface: Self.interface, member: "ActionInvoked"))
        let closings = try await connection.subscribe(to: DBusMatchRule(
            sender: Self.busName, path: Self.path, interface: Self.interface, member: "NotificationClosed"))
        let owners = try await connection.subscribe(to: DBusMatchRule(
            sender: "org.freedesktop.DBus", interface: "org.freedesktop.DBus", member: "NameOwnerChanged",
            arg0: Self.busName))
        listener = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { for await message in actions { await self.actionInvoked(message.arguments()) } }
                group.addTask { for await message in closings { await self.notificationClosed(message.arguments()) } }
                group.addTask { for await message in owners { await self.ownerChanged(message.arguments()) } }
            }
        }
        let activatable = try? await connection.call(
            destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus",
            member: "ListActivatableNames")
        isActivatable = activatable?.first?.stringArrayValue?.contains(Self.busName) ?? false
        let owner = try? await connection.nameOwner(Self.busName)
        serverReachable = owner != nil || isActivatable
        if owner != nil { await learnCapabilities() }
        logger.debug("Desktop notifications", metadata: [
            "server": "\(owner ?? (isActivatable ? "activatable" : "none"))",
        ])
    }

    /// Stops listening and finishes ``responses``; notifications on screen stay.
    func stop() {
        listener?.cancel()
        listener = nil
        responseContinuation.finish()
        appearanceContinuation.finish()
    }

    /// Turns notifications on or off; turning them off withdraws those on screen.
    func setEnabled(_ enabled: Bool) async {
        isEnabled = enabled
        guard !enabled else { return }
        for invitationID in notificationIDs.keys {
            await withdraw(invitationID: invitationID)
        }
    }

    /// Shows (or, when one is on screen, replaces) the notification of an invitation. Returns
    /// without waiting when disabled or when no server is there; failures are logged, not thrown.
    func show(invitationID: String, summary: String, body: String) async {
        await serialized { await self.notify(invitationID: invitationID, summary: summary, body: body) }
    }

    /// Closes the notification of an invitation (answered elsewhere, expired, cancelled).
    func withdraw(invitationID: String) async {
        await serialized { await self.close(invitationID: invitationID) }
    }

    /// The notification server's id of an invitation's notification on screen, if any.
    func notificationID(of invitationID: String) -> UInt32? { notificationIDs[invitationID] }

    // MARK: Calls

    private func serialized(_ operation: @escaping @Sendable () async -> Void) async {
        let previous = lastOperation
        let next = Task {
            await previous?.value
            await operation()
        }
        lastOperation = next
        await next.value
    }

    private func notify(invitationID: String, summary: String, body: String) async {
        guard isEnabled else { return }
        guard serverReachable else {
            logger.debug("No notification server; not showing the invitation", metadata: ["invitation": "\(invitationID)"])
            return
        }
        let replaces = notificationIDs[invitationID] ?? 0
        let text = bodyIsMarkup ? Self.escapeMarkup(body) : body
        let hints: [String: DBusValue] = [
            "category": .string("im.received"),
            "desktop-entry": .string(desktopEntry),
            "urgency": .byte(1),
        ]
        let arguments: [DBusValue] = [
            .string(appName), .uint32(replaces), .string(""), .string(Self.clean(summary)), .string(Self.clean(text)),
            .strings(["accept", "Accept", "decline", "Decline"]), .vardict(hints), .int32(expireTimeout),
        ]
        do {
            let reply = try await callServer("Notify", arguments)
            guard let id = reply.first?.uint32Value else { throw DBusError.failed("Notify replied without an id") }
            if replaces != 0, replaces != id { invitationIDs[replaces] = nil }
            notificationIDs[invitationID] = id
            invitationIDs[id] = invitationID
            logger.debug("Showed the invitation", metadata: ["invitation": "\(invitationID)", "notification": "\(id)"])
        } catch {
            serverFailed(error, doing: "show the invitation \(invitationID)")
        }
    }

    private func close(invitationID: String) async {
        guard let id = notificationIDs.removeValue(forKey: invitationID) else { return }
        invitationIDs[id] = nil
        guard serverReachable else { return }
        do {
            _ = try await callServer("CloseNotification", [.uint32(id)])
        } catch {
            serverFailed(error, doing: "withdraw the invitation \(invitationID)")
        }
    }

    private func callServer(_ member: String, _ arguments: [DBusValue] = []) async throws -> [DBusValue] {
        try await connection.call(
            destination: Self.busName, path: Self.path, interface: Self.interface, member: member,
            arguments: arguments, timeout: .seconds(10))
    }

    /// A server that fails is not asked again until a (new) one takes the name.
    private func serverFailed(_ error: any Error, doing what: String) {
        serverReachable = false
        logger.notice("Failed to \(what) as a desktop notification; not trying again until a notification server appears", metadata: [
            "error": "\((error as? DBusError)?.message ?? "\(error)")",
        ])
    }

    private func learnCapabilities() async {
        let capabilities = (try? await callServer("GetCapabilities"))?.first?.stringArrayValue ?? []
        bodyIsMarkup = capabilities.contains("body-markup")
    }

    // MARK: Signals

    /// `ActionInvoked(u id, s action_key)`
    private func actionInvoked(_ arguments: [DBusValue]) {
        guard arguments.count == 2, let id = arguments[0].uint32Value, let key = arguments[1].stringValue,
            let invitationID = invitationIDs[id]
        else { return }
        guard let answer = Answer(rawValue: key) else { return }
        logger.debug("Answered from the notification", metadata: ["invitation": "\(invitationID)", "answer": "\(key)"])
        responseContinuation.yield(Response(invitationID: invitationID, answer: answer))
    }

    /// `NotificationClosed(u id, u reason)`: the notification is gone; the invitation is not.
    private func notificationClosed(_ arguments: [DBusValue]) {
        guard let id = arguments.first?.uint32Value, let invitationID = invitationIDs.removeValue(forKey: id) else { return }
        notificationIDs[invitationID] = nil
    }

    /// `NameOwnerChanged(s name, s old, s new)` for the server's name.
    private func ownerChanged(_ arguments: [DBusValue]) async {
        guard arguments.count == 3, arguments[0].stringValue == Self.busName,
            let newOwner = arguments[2].stringValue
        else { return }
        // Ids belong to the server that gave them; a new server knows none of them.
        notificationIDs = [:]
        invitationIDs = [:]
        if newOwner.isEmpty {
            serverReachable = isActivatable
            bodyIsMarkup = false
        } else {
            serverReachable = true
            await learnCapabilities()
            logger.debug("A notification server appeared", metadata: ["owner": "\(newOwner)"])
            appearanceContinuation.yield()
        }
    }

    // MARK: Text

    /// Markup-safe text: the body holds what a peer wrote.
    static func escapeMarkup(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Without NUL characters, which D-Bus strings cannot carry.
    private static func clean(_ text: String) -> String {
        text.utf8.contains(0) ? String(text.unicodeScalars.filter { $0 != "\0" }) : text
    }
}
