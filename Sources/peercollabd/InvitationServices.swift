import Collaboration
import DBus
import Logging
import PeerCollabAPI

/// What invitations need from the desktop: starting the application of an accepted invitation
/// (``ApplicationLauncher``) and a notification per incoming invitation whose Accept and
/// Decline buttons answer it (``InvitationNotifier``). Both live on the daemon's bus connection.
actor InvitationServices {
    private var notifier: InvitationNotifier?
    private var answers: Task<Void, Never>?
    private var appearances: Task<Void, Never>?
    /// Invitations with a notification on screen (withdrawn when they end).
    private var shown: Set<String> = []

    /// Installs the launcher in the domain and starts the notifier (silent without a server).
    func start(connection: DBusConnection, collaboration: Collaboration, logger: Logger) async {
        let launcher = ApplicationLauncher(connection: connection, logger: logger)
        await collaboration.setApplicationLauncher { launch in
            let command: ApplicationLaunchRequest.Command = launch.desktopID.isEmpty ? .exec(launch.exec) : .desktopID(launch.desktopID)
            let request = ApplicationLaunchRequest(
                applicationID: launch.applicationID, command: command,
                invitationPath: PeerCollabBus.invitationPath(launch.invitationID))
            do {
                _ = try await launcher.launch(request)
                return nil
            } catch let error as LaunchError {
                logger.notice("Failed to start the invited application", metadata: [
                    "invitation": "\(launch.invitationID)", "application": "\(launch.applicationID)", "reason": "\(error.message)",
                ])
                return error.message
            } catch {
                return "\(error)"
            }
        }
        let notifier = InvitationNotifier(
            connection: connection, logger: logger, enabled: await collaboration.invitationNotificationsEnabled)
        do {
            try await notifier.start()
        } catch {
            logger.notice("Desktop notifications for invitations are off: \(error)")
            return
        }
        self.notifier = notifier
        appearances = Task {
            for await _ in notifier.serverAppearances { await self.showWaiting(notifier: notifier, collaboration: collaboration) }
        }
        answers = Task {
            for await response in notifier.responses {
                // Each answer on its own: an Accept waits for a launch and the inviter's word.
                Task {
                    do {
                        switch response.answer {
                        case .accept: try await collaboration.acceptInvitation(response.invitationID)
                        case .decline: try await collaboration.declineInvitation(response.invitationID)
                        }
                    } catch {
                        logger.notice("An answer from a notification did not count", metadata: [
                            "invitation": "\(response.invitationID)", "reason": "\(error)",
                        ])
                    }
                }
            }
        }
    }

    /// Shows a notification for an incoming invitation, and withdraws it when the invitation ends.
    func handle(_ event: CollaborationEvent, collaboration: Collaboration) async {
        guard let notifier else { return }
        switch event {
        case .invitationReceived(let view):
            // Read again: the invitation may have been answered while this waited its turn.
            guard let invitation = await collaboration.invitation(view.id), invitation.state == .pending else { return }
            await show(invitation, notifier: notifier, collaboration: collaboration)
        case .invitationNotificationsChanged(let enabled):
            await notifier.setEnabled(enabled)
            guard enabled else {
                shown = []  // Turning them off withdrew those on screen.
                return
            }
            // Turned on again: the invitations still waiting for an answer get theirs now.
            for invitation in await collaboration.allInvitations
            where invitation.direction == .incoming && invitation.state == .pending && invitation.answer == nil && !shown.contains(invitation.id) {
                await show(invitation, notifier: notifier, collaboration: collaboration)
            }
        case .invitationChanged(let view, let fields) where fields.contains(.state):
            guard view.invitation.state.isFinal, shown.remove(view.id) != nil else { return }
            await notifier.withdraw(invitationID: view.id)
        case .invitationRemoved(let id):
            guard shown.remove(id) != nil else { return }
            await notifier.withdraw(invitationID: id)
        default:
            break
        }
    }

    /// A notification server appeared: it shows none of ours, so every invitation still
    /// waiting for an answer gets its notification now (also one that came before any server).
    private func showWaiting(notifier: InvitationNotifier, collaboration: Collaboration) async {
        guard await collaboration.invitationNotificationsEnabled else { return }
        for invitation in await collaboration.allInvitations
        where invitation.direction == .incoming && invitation.state == .pending && invitation.answer == nil {
            await show(invitation, notifier: notifier, collaboration: collaboration)
        }
    }

    private func show(_ invitation: Invitation, notifier: InvitationNotifier, collaboration: Collaboration) async {
        let who = invitation.peerDisplayName.isEmpty ? invitation.peerID : invitation.peerDisplayName
        let application = await collaboration.application(invitation.applicationID)?.name ?? invitation.applicationID
        // A display name is a claim anyone can make: who it really is goes beside it.
        let trust =
            switch await collaboration.contact(invitation.peerID)?.record.verified {
            case true?: "verified contact"
            case false?: "unverified contact"
            case nil: "stranger"
            }
        shown.insert(invitation.id)
        await notifier.show(
            invitationID: invitation.id, summary: "\(who) (\(trust)) invites you to \(application)",
            body: invitation.message.isEmpty ? "Accept to start \(application) together." : invitation.message)
    }

    /// Stops listening for answers.
    func stop() async {
        answers?.cancel()
        appearances?.cancel()
        await notifier?.stop()
    }
}
