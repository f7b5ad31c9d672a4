/// The unique names that own the well-known names subscriptions are restricted to.
///
/// The bus routes a broadcast signal by a match rule's well-known `sender`, but anyone may
/// send a signal addressed to us (unicast), and that reaches us whatever our rules say: on
/// Debian's system bus every user may, and on the session bus every client. A signal is
/// therefore accepted only when it carries the unique name that owns the rule's sender now,
/// learnt with `GetNameOwner` and followed through `NameOwnerChanged`, which only the bus
/// itself can send (its messages carry the sender `org.freedesktop.DBus`, a name no client
/// can put on a message: the bus overwrites every client's sender with its unique name).
struct DBusSenderOwners {
    /// The bus's own name, which its messages carry as their sender.
    static let bus = "org.freedesktop.DBus"

    private struct Entry {
        var owner: String?
        var users = 0
        /// NameOwnerChanged signals applied so far: a `GetNameOwner` reply older than the
        /// newest of them is stale.
        var changes = 0
        /// The serial of the newest `GetNameOwner` whose reply was applied.
        var appliedSerial: UInt32 = 0
    }

    private var entries: [String: Entry] = [:]

    /// Whether `sender` (a rule's) must be resolved to the unique name owning it: well-known
    /// names other than the bus's own.
    static func needsOwner(_ sender: String) -> Bool {
        !sender.hasPrefix(":") && sender != bus
    }

    /// The rule that tells us when `name` changes hands.
    static func ownerRule(_ name: String) -> DBusMatchRule {
        DBusMatchRule(
            sender: bus, path: "/org/freedesktop/DBus", interface: bus, member: "NameOwnerChanged", arg0: name)
    }

    /// Starts (or joins) following `name`.
    mutating func retain(_ name: String) {
        entries[name, default: Entry()].users += 1
    }

    /// Stops following `name` once its last subscription ends.
    mutating func release(_ name: String) {
        guard var entry = entries[name] else { return }
        entry.users -= 1
        entries[name] = entry.users > 0 ? entry : nil
    }

    /// How many changes of `name` were seen: taken before asking the bus for its owner.
    func changeCount(of name: String) -> Int { entries[name]?.changes ?? 0 }

    /// Records a `GetNameOwner` answer unless a newer one, or a change signal after the
    /// question was sent, already said more recent things.
    mutating func resolved(_ name: String, owner: String?, serial: UInt32, changesBefore: Int) {
        guard var entry = entries[name], entry.changes == changesBefore, serial > entry.appliedSerial else { return }
        entry.owner = owner
        entry.appliedSerial = serial
        entries[name] = entry
    }

    /// Follows a `NameOwnerChanged` that truly comes from the bus.
    mutating func observe(_ message: DBusMessage) {
        guard !entries.isEmpty, message.sender == Self.bus, message.interface == Self.bus,
            message.member == "NameOwnerChanged", message.signature == "sss"
        else { return }
        let arguments = message.arguments()
        guard arguments.count == 3, let name = arguments[0].stringValue, var entry = entries[name],
            let newOwner = arguments[2].stringValue
        else { return }
        entry.owner = newOwner.isEmpty ? nil : newOwner
        entry.changes += 1
        entries[name] = entry
    }

    /// The unique name owning `name` now, as far as we know; nil when nobody owns it or the
    /// answer is not in yet.
    func owner(of name: String) -> String? { entries[name]?.owner }
}
