/// A domain name as a list of labels (raw bytes, since DNS-SD instance names may hold any
/// UTF-8, dots and spaces included). Equality and hashing ignore ASCII case, as DNS does.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// The labels, most specific first, without the empty root label.
    public var labels: [[UInt8]]

    /// A name from labels; each must be 1...63 bytes for the name to be encodable.
    public init(labels: [[UInt8]]) {
        self.labels = labels
    }

    /// A name from label strings, such as `["My Peer", "_peercollab", "_tcp", "local"]`.
    public init(_ labels: [String]) {
        self.labels = labels.map { Array($0.utf8) }
    }

    /// A name from dotted text with no escapes (only for names whose labels hold no dots).
    public init(dotted: String) {
        self.labels = dotted.split(separator: ".", omittingEmptySubsequences: true).map { Array($0.utf8) }
    }

    /// The length of the name in wire format without compression.
    public var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    /// The first label as text (the instance part of a service instance name).
    public var firstLabel: String { labels.first.map { String(decoding: $0, as: UTF8.self) } ?? "" }

    /// The name with the first label removed.
    public var parent: DNSName { DNSName(labels: Array(labels.dropFirst())) }

    /// A name with `label` in front of this one.
    public func prepending(_ label: String) -> DNSName { DNSName(labels: [Array(label.utf8)] + labels) }

    /// Dotted form, with dots inside labels escaped as `\.`.
    public var description: String {
        labels.map { label in String(decoding: label.flatMap { $0 == 0x2E ? [0x5C, 0x2E] : [$0] }, as: UTF8.self) }
            .joined(separator: ".") + "."
    }

    /// Lower-cased labels, the identity used for comparison and compression.
    var canonicalLabels: [[UInt8]] { labels.map(Self.lowercased) }

    static func lowercased(_ label: [UInt8]) -> [UInt8] {
        label.map(lower)
    }

    @inline(__always) static func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }

    // Names are compared and hashed on every cache lookup and every packet; neither may
    // allocate (a lower-cased copy per label was most of the CPU a crowded link cost).
    static func equalIgnoringCase(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a == b { return true }
        for index in a.indices where lower(a[index]) != lower(b[index]) { return false }
        return true
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        guard lhs.labels.count == rhs.labels.count else { return false }
        for index in lhs.labels.indices where !equalIgnoringCase(lhs.labels[index], rhs.labels[index]) { return false }
        return true
    }

    /// Whether this name is `parent` with exactly one more label in front (no copies made).
    public func isChild(of parent: DNSName) -> Bool {
        guard labels.count == parent.labels.count + 1 else { return false }
        for index in parent.labels.indices where !Self.equalIgnoringCase(labels[index + 1], parent.labels[index]) { return false }
        return true
    }

    /// Hashes the shape and the first label only: names that differ live under the same
    /// parent (instances of a service type, hosts in `.local`), so the first label tells them
    /// apart, and equal names (ignoring case) hash alike as `==` needs.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(labels.count)
        for label in labels { hasher.combine(label.count) }
        guard let first = labels.first else { return }
        var word: UInt64 = 0
        var filled = 0
        for byte in first {
            word = word << 8 | UInt64(Self.lower(byte))
            filled += 1
            if filled == 8 {
                hasher.combine(word)
                word = 0
                filled = 0
            }
        }
        hasher.combine(word)
    }
}
