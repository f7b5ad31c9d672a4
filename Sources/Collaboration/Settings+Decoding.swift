/// Reading `settings.json` one key at a time: a value of the wrong type or outside its
/// choices costs only its own key (the default holds, and ``Settings/ignored`` says which
/// and why, for the log and `Diagnose`), never the daemon's start.
extension Settings {
    /// A key of the file that was not used, and why.
    public struct IgnoredSetting: Sendable, Hashable, CustomStringConvertible {
        /// The key as the file spells it.
        public var key: String
        /// The value as found, shortened (`"avahii"`, `12`, `an object`).
        public var value: String
        /// What would be right.
        public var expected: String

        public var description: String {
            expected.isEmpty ? "unknown key \(key) (value \(value))" : "\(key) = \(value): \(expected)"
        }
    }

    /// The discovery backends a setting may name.
    public static let discoveryBackends = ["auto", "avahi", "builtin"]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case displayName, email, discoveryBackend, allowInterfaces, denyInterfaces, invitationPolicy
        case invitationRetentionSeconds, invitationNotifications, invitationPendingPerPeer
        case invitationsPerSecondPerPeer, autoIdle
        case signInAutomatically, keptSignIn, keptPresence
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let raw = try decoder.container(keyedBy: AnyKey.self)
        var ignored: [IgnoredSetting] = []
        func field<T: Decodable>(_ key: CodingKeys, _ expected: String, valid: (T) -> Bool = { _ in true }) -> T? {
            do {
                guard let value = try container.decodeIfPresent(T.self, forKey: key) else { return nil }
                guard valid(value) else { throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "") }
                return value
            } catch {
                let shown = (try? raw.decode(RawValue.self, forKey: AnyKey(stringValue: key.rawValue)))?.text ?? "?"
                ignored.append(IgnoredSetting(key: key.rawValue, value: shown, expected: expected))
                return nil
            }
        }
        displayName = field(.displayName, "expected a string")
        email = field(.email, "expected a string")
        discoveryBackend = field(.discoveryBackend, "expected one of " + Self.discoveryBackends.joined(separator: ", ")) {
            Self.discoveryBackends.contains($0)
        }
        allowInterfaces = field(.allowInterfaces, "expected a list of interface names")
        denyInterfaces = field(.denyInterfaces, "expected a list of interface names")
        invitationPolicy = field(.invitationPolicy, "expected one of anyone, contacts, nobody")
        invitationRetentionSeconds = field(.invitationRetentionSeconds, "expected a whole number of seconds, 0 to 86400") {
            (0...86_400).contains($0)
        }
        invitationNotifications = field(.invitationNotifications, "expected true or false")
        invitationPendingPerPeer = field(.invitationPendingPerPeer, "expected a whole number, at least 1") { $0 >= 1 }
        invitationsPerSecondPerPeer = field(.invitationsPerSecondPerPeer, "expected a number above 0") { $0 > 0 && $0.isFinite }
        autoIdle = field(.autoIdle, "expected true or false")
        signInAutomatically = field(.signInAutomatically, "expected true or false")
        keptSignIn = field(.keptSignIn, "expected a list of scopes (near-me, internet)") {
            $0.allSatisfy { Scope(rawValue: $0) != nil }
        }
        keptPresence = field(.keptPresence, "expected {\"status\": …, \"message\": …}")
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        for key in raw.allKeys where !known.contains(key.stringValue) {
            let shown = (try? raw.decode(RawValue.self, forKey: key))?.text ?? "?"
            ignored.append(IgnoredSetting(key: String(key.stringValue.prefix(64)), value: shown, expected: ""))
        }
        self.ignored = ignored
    }

    /// Any JSON value, only to show it in a message.
    private struct RawValue: Decodable {
        let text: String

        init(from decoder: any Decoder) throws {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                text = "null"
            } else if let bool = try? single.decode(Bool.self) {
                text = "\(bool)"
            } else if let number = try? single.decode(Double.self) {
                text = number == number.rounded() && abs(number) < 1e15 ? "\(Int64(number))" : "\(number)"
            } else if let string = try? single.decode(String.self) {
                let short = string.count > 64 ? String(string.prefix(64)) + "…" : string
                text = "\"" + short.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : String($0) }.joined() + "\""
            } else if (try? decoder.unkeyedContainer()) != nil {
                text = "a list"
            } else {
                text = "an object"
            }
        }
    }
}
