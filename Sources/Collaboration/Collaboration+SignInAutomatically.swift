import PeerProtocol

/// "Sign me in automatically": the scopes I signed in to and the presence I set are kept in
/// the settings file, written before the call that changed them replies, and taken up again
/// when the daemon starts. So a crash, an upgrade, a watchdog restart or a reboot leaves
/// the user where they were; only their own `SignOut` (or turning this off) signs them out.
extension Collaboration {
    /// Whether sign-in and presence are kept across restarts (the setting, default on).
    public var signInAutomatically: Bool { settings.signInAutomatically ?? true }

    /// Turns keeping sign-in and presence on or off; returns after it is on disk. On keeps
    /// what holds now; off forgets what was kept, so the next start is signed out, `online`.
    public func setSignInAutomatically(_ enabled: Bool) throws {
        guard enabled != signInAutomatically else { return }
        let scopes = signedIn
        let chosen = userPresence
        try updateSettings {
            $0.signInAutomatically = enabled
            $0.keptSignIn = enabled ? Self.kept(scopes) : nil
            $0.keptPresence = enabled ? KeptPresence(status: chosen.status.name, message: chosen.message) : nil
        }
        logger.info("Sign in automatically changed", metadata: ["enabled": "\(enabled)"])
        announce(.managerChanged([.signInAutomatically]))
    }

    /// Keeps `scopes` as the ones to sign in to at the next start (when the setting is on).
    func keepSignIn(_ scopes: Set<Scope>) throws {
        guard signInAutomatically else { return }
        let kept = Self.kept(scopes)
        guard kept != settings.keptSignIn else { return }
        try updateSettings { $0.keptSignIn = kept }
    }

    /// Keeps the presence the user chose (when the setting is on).
    func keepPresence(_ chosen: PeerPresence) throws {
        guard signInAutomatically else { return }
        let kept = KeptPresence(status: chosen.status.name, message: chosen.message)
        guard kept != settings.keptPresence else { return }
        try updateSettings { $0.keptPresence = kept }
    }

    /// At start, once the listener and dialer are there: the kept presence, then the kept
    /// scopes. Nothing here stops the daemon: a failure is logged and shown by `Diagnose`
    /// (``signInRestoreProblem``), and the user can sign in by hand.
    public func restoreSignIn() {
        guard signInAutomatically else { return }
        if let kept = settings.keptPresence {
            // The file is the user's, but may have been edited: the same rules as SetPresence.
            if let status = try? PresenceRules.status(named: kept.status), (try? PresenceRules.checkMessage(kept.message)) != nil {
                userPresence = PeerPresence(status: status, message: kept.message)
                updateEffectivePresence()
            } else {
                logger.warning("The kept presence in the settings is not valid; starting online", metadata: ["status": "\(kept.status)"])
            }
        }
        let scopes = (settings.keptSignIn ?? []).compactMap(Scope.init(rawValue:))
        guard !scopes.isEmpty else { return }
        do {
            // In one call, so that what is kept never shrinks to a part on the way.
            try signIn(Set(scopes) == Set(Scope.allCases) ? "all" : scopes[0].rawValue)
            signInRestoreProblem = nil
            logger.info("Signed in again to the scopes kept from the last run", metadata: ["scopes": "\(scopes.map(\.rawValue))"])
        } catch {
            signInRestoreProblem = "could not sign in again to \(scopes.map(\.rawValue).joined(separator: ", ")): \(error)"
            logger.error("Could not sign in again to the scopes kept from the last run", metadata: ["reason": "\(error)"])
        }
    }

    private static func kept(_ scopes: Set<Scope>) -> [String] { scopes.sorted().map(\.rawValue) }
}
