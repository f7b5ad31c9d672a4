import PeerProtocol

/// The limits of docs/dbus-api.md on presence and objects, checked on the D-Bus side (as
/// InvalidArgument) and applied to what peers send.
public enum PresenceRules {
    /// The most objects I publish at once.
    public static let maximumObjects = PeerProtocolLimits.objectsMaximumCount
    /// The largest object, in bytes.
    public static let maximumObjectBytes = PeerProtocolLimits.objectDataMaximumBytes
    /// The longest object id, in bytes.
    public static let maximumObjectIDBytes = PeerProtocolLimits.objectIDMaximumBytes
    /// The longest presence message, in bytes of UTF-8.
    public static let maximumMessageBytes = PeerProtocolLimits.presenceMessageMaximumBytes

    /// The status names of docs/dbus-api.md, as a user may type them.
    public static var statusNames: [String] { PresenceStatus.allCases.map(\.name) }

    /// The status called `name`, or an error listing the valid ones.
    public static func status(named name: String) throws -> PresenceStatus {
        guard let status = PresenceStatus(name: name) else {
            throw CollaborationError.invalidArgument(
                "'\(name)' is not a presence status: use one of \(statusNames.joined(separator: ", ")).")
        }
        return status
    }

    /// A message of at most 1,024 bytes without control characters (a status line, not a letter).
    public static func checkMessage(_ message: String) throws {
        let length = message.utf8.count
        guard length <= maximumMessageBytes else {
            throw CollaborationError.invalidArgument(
                "The presence message is \(length) bytes of UTF-8; at most \(maximumMessageBytes) are allowed.")
        }
        if let bad = message.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            throw CollaborationError.invalidArgument(
                "The presence message contains the control character U+\(String(bad.value, radix: 16, uppercase: true)); use plain text on one line.")
        }
    }

    /// A peer's presence as shown: control characters (which the wire allows) become U+FFFD,
    /// so a peer cannot move a terminal's cursor or forge lines, and invisible formatting
    /// characters (``InvisibleCharacters``) go, so it cannot reorder or hide text.
    static func sanitized(_ presence: PeerPresence) -> PeerPresence {
        let message = InvisibleCharacters.stripped(presence.message)
        guard message.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return message == presence.message ? presence : PeerPresence(status: presence.status, message: message)
        }
        var scalars = String.UnicodeScalarView()
        for scalar in message.unicodeScalars {
            scalars.append(scalar.properties.generalCategory == .control ? "\u{FFFD}" : scalar)
        }
        return PeerPresence(status: presence.status, message: String(scalars))
    }

    /// A peer's profile as shown: its presence sanitized and its display name without
    /// invisible formatting characters (a name of nothing else becomes U+FFFD, never empty).
    static func sanitized(_ profile: PeerProfile) -> PeerProfile {
        var profile = profile
        let name = InvisibleCharacters.stripped(profile.displayName)
        profile.displayName = name.isEmpty ? "\u{FFFD}" : name
        profile.presence = sanitized(profile.presence)
        return profile
    }

    /// `[A-Za-z0-9._-]`, 1–128 bytes.
    public static func checkObjectID(_ id: String) throws {
        guard !id.isEmpty else { throw CollaborationError.invalidArgument("The object id is empty; use 1 to \(maximumObjectIDBytes) of A-Z, a-z, 0-9, '.', '_' and '-'.") }
        guard id.utf8.count <= maximumObjectIDBytes else {
            throw CollaborationError.invalidArgument("The object id is \(id.utf8.count) bytes; at most \(maximumObjectIDBytes) are allowed.")
        }
        guard id.utf8.allSatisfy(\.isIDCharacter) else {
            throw CollaborationError.invalidArgument("The object id '\(id)' may only contain A-Z, a-z, 0-9, '.', '_' and '-'.")
        }
    }
}
