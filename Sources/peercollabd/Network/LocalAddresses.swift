import Collaboration
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The addresses of this machine where peers may reach it: up, not loopback, and not IPv6
/// link-local (which needs an interface name nobody else knows).
enum LocalAddresses {
    /// Whether `address` lies in the subnet of one of my interfaces (or is IPv6 link-local):
    /// a peer there is on my link, near me, whoever dialled.
    static func isOnLocalNetwork(_ address: SocketAddress?) -> Bool {
        guard let address else { return false }
        var peer: [UInt8]
        switch address {
        case .v4(let v4):
            peer = withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            peer = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if peer[0] == 0xfe && peer[1] & 0xc0 == 0x80 { return true }
            if peer[0..<10].allSatisfy({ $0 == 0 }) && peer[10] == 0xff && peer[11] == 0xff {
                peer = Array(peer[12..<16])  // IPv4 client of a dual-stack listener
            }
        default:
            return false
        }
        return interfaceAddresses().contains { network, mask in
            network.count == peer.count && zip(zip(network, mask), peer).allSatisfy { pair, byte in pair.0 & pair.1 == byte & pair.1 }
        }
    }

    /// Address and netmask bytes (4 or 16 of each) of every up, non-loopback interface
    /// address: the one walk over getifaddrs that both questions above and below read.
    private static func interfaceAddresses() -> [(address: [UInt8], mask: [UInt8])] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var result: [(address: [UInt8], mask: [UInt8])] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            let flags = Int32(entry.pointee.ifa_flags)
            guard flags & Int32(IFF_UP) != 0, flags & Int32(IFF_LOOPBACK) == 0,
                let address = entry.pointee.ifa_addr, let mask = entry.pointee.ifa_netmask
            else { continue }
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                result.append((
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) } },
                    mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) } }))
            case AF_INET6:
                result.append((
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) } },
                    mask.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) } }))
            default:
                continue
            }
        }
        return result
    }

    /// The addresses as text, without IPv6 link-local ones and without repeats.
    static func current() -> [String] {
        var result: [String] = []
        for (bytes, _) in interfaceAddresses() {
            if bytes.count == 16, bytes[0] == 0xfe, bytes[1] & 0xc0 == 0x80 { continue }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            bytes.withUnsafeBytes { raw in
                _ = inet_ntop(bytes.count == 4 ? AF_INET : AF_INET6, raw.baseAddress, &text, socklen_t(text.count))
            }
            let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !result.contains(host) { result.append(host) }
        }
        return result
    }
}
