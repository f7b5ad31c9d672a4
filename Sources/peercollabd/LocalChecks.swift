import Collaboration
import Discovery
import FoundationEssentials

/// The daemon's own checks for `Diagnose`, beside the discovery backend's: whether I am
/// signed in, where I listen, and whether a firewall may stand between peers and that port.
enum LocalChecks {
    static func run(collaboration: Collaboration) async -> [DiscoveryDiagnosis.Check] {
        var checks: [DiscoveryDiagnosis.Check] = []
        let signedIn = await collaboration.signedIn
        checks.append(.init(
            subject: "sign-in", ok: !signedIn.isEmpty,
            detail: signedIn.isEmpty ? "not signed in" : "signed in to " + signedIn.sorted().map(\.rawValue).joined(separator: ", "),
            advice: signedIn.isEmpty ? "Sign in: peercollabctl signin near-me" : ""))
        if let problem = await collaboration.signInRestoreProblem {
            checks.append(.init(
                subject: "sign-in at start", ok: false, detail: problem,
                advice: "See journalctl --user -u peercollab for the reason, then sign in again: peercollabctl signin"))
        }
        let identity = collaboration.identity
        if let refused = identity.refusedAtStart, !identity.isLoaded {
            checks.append(.init(
                subject: "key", ok: false, detail: "refused at start: \(refused)",
                advice: "Put the key file right as it says, then sign in: peercollabctl signin near-me (no restart needed)."))
        }
        let endpoints = await collaboration.endpoints
        let port = endpoints.first?.port
        checks.append(.init(
            subject: "peer port", ok: !endpoints.isEmpty,
            detail: endpoints.isEmpty ? "no network address to be reached at" : "listening on TCP \(port ?? 0) at " + endpoints.map(\.description).joined(separator: ", "),
            advice: endpoints.isEmpty ? "Connect to a network; peers cannot reach a machine without an address." : ""))
        let store = await collaboration.storeStatus
        let writes = await collaboration.writeStatus
        var storeDetail = store.damagedCopy.map { "\(store.path) was damaged at start; it was moved to \($0) and an empty one started" }
            ?? "\(store.path)"
        if let latest = writes.latest {
            storeDetail += writes.failingNow
                ? "; writing fails: \(writes.failures) failed writes since the start, the latest: \(latest)"
                : "; \(writes.failures) writes failed since the start, and writing works again (the latest failure: \(latest))"
        }
        var storeAdvice = store.damagedCopy.map { "Contacts and objects may be recovered from the copy: sqlite3 \($0) .recover" } ?? ""
        if writes.failingNow {
            storeAdvice += (storeAdvice.isEmpty ? "" : " ") + "Changes are refused until it can write: free space on the disk (df -h \(store.path)) or make the folder writable."
        }
        checks.append(.init(subject: "store", ok: store.damagedCopy == nil && !writes.failingNow, detail: storeDetail, advice: storeAdvice))
        let settings = await collaboration.ignoredSettings
        checks.append(.init(
            subject: "settings", ok: settings.ignored.isEmpty,
            detail: settings.ignored.isEmpty ? settings.path : "ignored in \(settings.path): " + settings.ignored.map(\.description).joined(separator: "; "),
            advice: settings.ignored.isEmpty ? "" : "Fix or remove those keys (docs: peercollabd(8), settings), then: systemctl --user reload peercollab"))
        checks.append(.init(subject: "invitations", ok: true, detail: await collaboration.invitationBookSummary))
        if signedIn.contains(.nearMe) { checks.append(await reachingNearby(collaboration, port: port)) }
        if let firewall = activeFirewall() {
            checks.append(.init(
                subject: "firewall", ok: false, detail: "\(firewall) is active and may block peers",
                advice: firewall == "firewalld"
                    ? "Allow peercollab: sudo firewall-cmd --permanent --add-service=peercollab && sudo firewall-cmd --reload (the Debian package installs the service; from a checkout, copy dist/firewalld/peercollab.xml to /etc/firewalld/services first), or open TCP \(port ?? 46773) and UDP 5353."
                    : "Allow peercollab: sudo ufw allow peercollab (the Debian package installs the profile; from a checkout, copy dist/ufw/peercollab to /etc/ufw/applications.d first), or sudo ufw allow \(port ?? 46773)/tcp and 5353/udp."))
        } else {
            checks.append(.init(subject: "firewall", ok: true, detail: "neither firewalld nor ufw is active"))
        }
        return checks
    }

    /// Peers announced near me that every dial failed to reach: the log says so once per
    /// dial, and this says it where someone looks ("why does nobody show up?").
    static func reachingNearby(_ collaboration: Collaboration, port: UInt16?) async -> DiscoveryDiagnosis.Check {
        let unreachable = await collaboration.unreachableNearby
        guard !unreachable.isEmpty else {
            return .init(subject: "peers near me", ok: true, detail: "every peer announced near me was reached")
        }
        let shown = unreachable.prefix(5).map { peer in
            let name = peer.nameHint.isEmpty ? peer.peer : "\(peer.nameHint) (\(peer.peer))"
            return "\(name): \(peer.failedDials) failed \(peer.failedDials == 1 ? "try" : "tries"), the last: \(peer.reason)"
        }
        let more = unreachable.count > 5 ? "; and \(unreachable.count - 5) more" : ""
        return .init(
            subject: "peers near me", ok: false,
            detail: "\(unreachable.count) announced near me but not reachable: " + shown.joined(separator: "; ") + more,
            advice: "A firewall on either computer may block the peer port: allow peercollab on both (sudo firewall-cmd --add-service=peercollab, or sudo ufw allow peercollab); this one listens on TCP \(port ?? 46773), the other on the port named above. Networks that isolate devices from each other (guest Wi-Fi) block it too. peercollab keeps trying, with back-off.")
    }

    /// firewalld leaves its PID file while running; ufw says ENABLED=yes in its config.
    static func activeFirewall() -> String? {
        if FileManager.default.fileExists(atPath: "/run/firewalld/firewalld.pid") || FileManager.default.fileExists(atPath: "/var/run/firewalld.pid") {
            return "firewalld"
        }
        if case .contents(let data) = BoundedFile.read("/etc/ufw/ufw.conf", limit: 64 * 1024),
            String(decoding: data, as: UTF8.self).split(separator: "\n").contains(where: { $0.filter { !$0.isWhitespace } == "ENABLED=yes" })
        {
            return "ufw"
        }
        return nil
    }
}
