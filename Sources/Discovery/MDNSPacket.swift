import NIOCore

/// The address family a packet travels on.
public enum MDNSFamily: Sendable, Hashable {
    case ipv4, ipv6
}

/// An IP address and port as raw bytes (4 or 16 address bytes).
public struct MDNSEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var address: [UInt8]
    public var port: UInt16

    public init(address: [UInt8], port: UInt16) {
        self.address = address
        self.port = port
    }

    public var family: MDNSFamily { address.count == 4 ? .ipv4 : .ipv6 }
    public var description: String { "\(MDNSInterface.format(address)) port \(port)" }
}

/// A message that arrived, with where it came from and on which interface.
public struct MDNSIncomingPacket: Sendable, Hashable {
    public var message: DNSMessage
    public var source: MDNSEndpoint
    public var interfaceIndex: Int32

    public init(message: DNSMessage, source: MDNSEndpoint, interfaceIndex: Int32) {
        self.message = message
        self.source = source
        self.interfaceIndex = interfaceIndex
    }
}

/// A message to send out of one interface, to the mDNS group or to one address.
public struct MDNSOutgoingPacket: Sendable, Hashable {
    /// Where the packet goes.
    public enum Destination: Sendable, Hashable {
        /// 224.0.0.251 and/or ff02::fb port 5353; `nil` family: both.
        case multicast(MDNSFamily?)
        case unicast(MDNSEndpoint)
    }

    public var message: DNSMessage
    public var interfaceIndex: Int32
    public var destination: Destination

    public init(message: DNSMessage, interfaceIndex: Int32, destination: Destination) {
        self.message = message
        self.interfaceIndex = interfaceIndex
        self.destination = destination
    }
}

/// A small seedable generator so the state machines' random delays are reproducible in tests.
public struct MDNSRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    public init() {
        var system = SystemRandomNumberGenerator()
        self.init(seed: system.next())
    }

    public mutating func next() -> UInt64 {
        // xorshift64*: plenty for jitter; nothing here needs to be unpredictable.
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// A random amount of time in `milliseconds`.
    mutating func delay(milliseconds range: ClosedRange<Int64>) -> TimeAmount {
        .milliseconds(Int64.random(in: range, using: &self))
    }
}
