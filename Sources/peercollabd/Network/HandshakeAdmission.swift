/// The places for connections still in their TLS handshake or hello, counted per source
/// address: 64 in all, and at most 8 from one address, so that one host holding idle
/// sockets open cannot keep everyone else out (each place frees at the handshake's and
/// the hello's 10 s deadlines at the latest).
struct HandshakeAdmission: Sendable {
    static let maximumTotal = 64
    static let maximumPerAddress = 8

    private(set) var total = 0
    private var perAddress: [String: Int] = [:]

    /// Takes a place for a connection from `address`, if one is free.
    mutating func admit(_ address: String) -> Bool {
        let fromThere = perAddress[address, default: 0]
        guard total < Self.maximumTotal, fromThere < Self.maximumPerAddress else { return false }
        total += 1
        perAddress[address] = fromThere + 1
        return true
    }

    /// Gives back a place taken by ``admit(_:)``.
    mutating func release(_ address: String) {
        guard let fromThere = perAddress[address] else { return }
        total -= 1
        perAddress[address] = fromThere > 1 ? fromThere - 1 : nil
    }

    /// Source addresses holding places now.
    var addresses: Int { perAddress.count }
}
