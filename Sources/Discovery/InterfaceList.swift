#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The machine's interfaces and their addresses, read with getifaddrs(3).
enum InterfaceList {
    static func current() -> [MDNSInterface] {
        var head: UnsafeMutablePointer<ifaddrs>? = nil
        guard getifaddrs(&head) == 0, let first = head else { return [] }
        defer { freeifaddrs(head) }
        var byName: [String: MDNSInterface] = [:]
        var order: [String] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        var remaining = 100_000  // getifaddrs returns a finite list; bound the walk anyway
        while let entry = cursor, remaining > 0 {
            remaining -= 1
            cursor = entry.pointee.ifa_next
            let name = String(cString: entry.pointee.ifa_name)
            let flags = Int32(bitPattern: entry.pointee.ifa_flags)
            if byName[name] == nil {
                let index = Int32(bitPattern: if_nametoindex(name))
                guard index > 0 else { continue }
                byName[name] = MDNSInterface(
                    index: index, name: name, addresses: [], isUp: flags & Int32(IFF_UP) != 0 && flags & Int32(IFF_RUNNING) != 0,
                    supportsMulticast: flags & Int32(IFF_MULTICAST) != 0, isLoopback: flags & Int32(IFF_LOOPBACK) != 0)
                order.append(name)
            }
            guard let address = entry.pointee.ifa_addr else { continue }
            let family = Int32(address.pointee.sa_family)
            if family == AF_INET {
                let bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin_addr, Array.init) }
                let mask = entry.pointee.ifa_netmask.map { pointer in pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin_addr, Array.init) } }
                byName[name]!.addresses.append(.init(bytes: bytes, prefixLength: prefixLength(mask) ?? 32))
            } else if family == AF_INET6 {
                let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin6_addr, Array.init) }
                let mask = entry.pointee.ifa_netmask.map { pointer in pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin6_addr, Array.init) } }
                byName[name]!.addresses.append(.init(bytes: bytes, prefixLength: prefixLength(mask) ?? 128))
            }
        }
        return order.compactMap { byName[$0] }
    }

    private static func prefixLength(_ mask: [UInt8]?) -> Int? {
        mask.map { $0.reduce(0) { $0 + $1.nonzeroBitCount } }
    }
}
