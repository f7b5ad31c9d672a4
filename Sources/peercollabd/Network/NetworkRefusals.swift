import Discovery
import NIOCore
import Synchronization

/// What the listener refused or failed, counted for `Diagnose` (the log says it once per
/// burst; the check says it to whoever asks later): accepts that failed (descriptors
/// exhausted), connections dropped while too many were handshaking, sessions closed
/// because partial frames spent their budget, and strangers beyond the domain's bound.
final class NetworkRefusals: Sendable {
    /// A refusal older than this no longer fails the check (it still counts).
    static let recent: TimeAmount = .minutes(10)

    enum Kind: CaseIterable, Sendable {
        case acceptFailed, handshakeFull, partialFrames
    }

    private struct Record {
        var counts: [Kind: Int] = [:]
        var last: [Kind: NIODeadline] = [:]
        var lastAcceptError = ""
    }

    private let record = Mutex(Record())

    func note(_ kind: Kind, error: String = "", now: NIODeadline = .now()) {
        record.withLock {
            $0.counts[kind, default: 0] += 1
            $0.last[kind] = now
            if kind == .acceptFailed { $0.lastAcceptError = error }
        }
    }

    /// The `peer connections` check: ok unless something was refused in the last 10 minutes.
    func check(strangersRefused: Int, now: NIODeadline = .now()) -> DiscoveryDiagnosis.Check {
        let record = record.withLock { $0 }
        func recent(_ kind: Kind) -> Bool { record.last[kind].map { now - $0 < Self.recent } ?? false }
        let counts = record.counts
        var parts: [String] = []
        var advice: [String] = []
        if let accepts = counts[.acceptFailed] {
            parts.append("\(accepts) failed accepts (latest: \(record.lastAcceptError))")
            if recent(.acceptFailed) {
                advice.append("Accepting fails when descriptors run out: raise LimitNOFILE= of peercollab.service (systemctl --user edit peercollab) or find who floods the peer port (ss -tn).")
            }
        }
        if let full = counts[.handshakeFull] {
            parts.append("\(full) connections dropped while \(HandshakeAdmission.maximumTotal) were handshaking (\(HandshakeAdmission.maximumPerAddress) per address)")
            if recent(.handshakeFull) {
                advice.append("Some host opens connections and stays silent: find it with ss -tn state established '( sport = :PORT )' and block it in the firewall.")
            }
        }
        if let frames = counts[.partialFrames] {
            parts.append("\(frames) sessions closed for holding too much of unfinished frames")
            if recent(.partialFrames) {
                advice.append("Peers send large frames and stop midway: find them with ss -tn and block them in the firewall.")
            }
        }
        if strangersRefused > 0 {
            parts.append("\(strangersRefused) unverified peers refused (at most 128 at once, 8 from one address; contacts always get in)")
        }
        let ok = !Kind.allCases.contains(where: recent)
        return .init(
            subject: "peer connections", ok: ok,
            detail: parts.isEmpty ? "nothing refused since the start" : parts.joined(separator: "; ") + " since the start",
            advice: advice.joined(separator: " "))
    }
}
