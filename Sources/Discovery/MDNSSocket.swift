#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One UDP socket of the responder, bound to the wildcard address on port 5353 and shared
/// with other responders (SO_REUSEADDR + SO_REUSEPORT), joined to the mDNS group per
/// interface, reporting each packet's arrival interface (IP_PKTINFO / IPV6_RECVPKTINFO) and
/// choosing the outgoing interface per packet. NIO's datagram channel cannot set the
/// outgoing interface per write, hence plain sockets.
final class MDNSSocket: Sendable {
    let fd: CInt
    let family: MDNSFamily

    static let ipv4Group: [UInt8] = [224, 0, 0, 251]
    static let ipv6Group: [UInt8] = [0xFF, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFB]

    // Linux values; the Glibc module hides some of them behind _GNU_SOURCE.
    private static let ipPktinfo: CInt = 8
    private static let ipv6RecvPktinfo: CInt = 49
    private static let ipv6Pktinfo: CInt = 50
    private static let soReuseport: CInt = 15

    init(family: MDNSFamily, port: UInt16 = 5353) throws(MDNSError) {
        self.family = family
        let domain = family == .ipv4 ? AF_INET : AF_INET6
        let fd = socket(domain, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socketFailed("create a UDP socket", errno: errno) }
        self.fd = fd
        do throws(MDNSError) {
            try option(SOL_SOCKET, SO_REUSEADDR, 1, "allow sharing port 5353")
            try option(SOL_SOCKET, Self.soReuseport, 1, "allow sharing port 5353")
            if family == .ipv4 {
                try option(CInt(IPPROTO_IP), Self.ipPktinfo, 1, "ask for arrival interfaces")
                try option(CInt(IPPROTO_IP), IP_MULTICAST_TTL, 255, "set the multicast TTL")
                try option(CInt(IPPROTO_IP), IP_TTL, 255, "set the unicast TTL")
                try option(CInt(IPPROTO_IP), IP_MULTICAST_LOOP, 1, "enable multicast loopback")
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                let result = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard result == 0 else { throw MDNSError.socketFailed("bind UDP port \(port) (IPv4)", errno: errno) }
            } else {
                try option(CInt(IPPROTO_IPV6), IPV6_V6ONLY, 1, "keep the IPv6 socket to IPv6")
                try option(CInt(IPPROTO_IPV6), Self.ipv6RecvPktinfo, 1, "ask for arrival interfaces")
                try option(CInt(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, 255, "set the multicast hop limit")
                try option(CInt(IPPROTO_IPV6), IPV6_UNICAST_HOPS, 255, "set the unicast hop limit")
                try option(CInt(IPPROTO_IPV6), IPV6_MULTICAST_LOOP, 1, "enable multicast loopback")
                var address = sockaddr_in6()
                address.sin6_family = sa_family_t(AF_INET6)
                address.sin6_port = port.bigEndian
                let result = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
                }
                guard result == 0 else { throw MDNSError.socketFailed("bind UDP port \(port) (IPv6)", errno: errno) }
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    private func option(_ level: CInt, _ name: CInt, _ value: CInt, _ what: String) throws(MDNSError) {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<CInt>.size)) == 0 else {
            throw .socketFailed(what, errno: errno)
        }
    }

    /// Joins (or leaves) the mDNS group on one interface.
    func setMembership(_ join: Bool, interfaceIndex: Int32) throws(MDNSError) {
        let result: CInt
        if family == .ipv4 {
            // struct ip_mreqn: group, local address (any), interface index.
            var request: [UInt8] = Self.ipv4Group + [0, 0, 0, 0] + withUnsafeBytes(of: interfaceIndex, Array.init)
            result = setsockopt(fd, CInt(IPPROTO_IP), join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &request, socklen_t(request.count))
        } else {
            var request = ipv6_mreq()
            withUnsafeMutableBytes(of: &request.ipv6mr_multiaddr) { $0.copyBytes(from: Self.ipv6Group) }
            request.ipv6mr_interface = UInt32(interfaceIndex)
            result = setsockopt(fd, CInt(IPPROTO_IPV6), join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &request, socklen_t(MemoryLayout<ipv6_mreq>.size))
        }
        guard result == 0 else { throw .socketFailed("\(join ? "join" : "leave") the mDNS group on interface \(interfaceIndex)", errno: errno) }
    }

    /// Sends one datagram out of `interfaceIndex` (the interface goes in a PKTINFO control
    /// message, which Linux honours for multicast and link-local destinations).
    func send(_ bytes: [UInt8], to destination: MDNSEndpoint, interfaceIndex: Int32) throws(MDNSError) {
        var storage = sockaddr_storage()
        let length = Self.fill(&storage, destination, interfaceIndex: interfaceIndex)
        var control: [UInt8]
        if family == .ipv4 {
            // struct in_pktinfo: ifindex, spec_dst, addr.
            control = Self.controlMessage(level: CInt(IPPROTO_IP), type: Self.ipPktinfo, data: withUnsafeBytes(of: interfaceIndex, Array.init) + [UInt8](repeating: 0, count: 8))
        } else {
            // struct in6_pktinfo: addr, ifindex.
            control = Self.controlMessage(level: CInt(IPPROTO_IPV6), type: Self.ipv6Pktinfo, data: [UInt8](repeating: 0, count: 16) + withUnsafeBytes(of: UInt32(interfaceIndex), Array.init))
        }
        var payload = bytes
        let sent = payload.withUnsafeMutableBytes { payloadBuffer in
            control.withUnsafeMutableBytes { controlBuffer in
                withUnsafeMutablePointer(to: &storage) { address in
                    var vector = iovec(iov_base: payloadBuffer.baseAddress, iov_len: payloadBuffer.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var header = msghdr()
                        header.msg_name = UnsafeMutableRawPointer(address)
                        header.msg_namelen = length
                        header.msg_iov = vectorPointer
                        header.msg_iovlen = 1
                        header.msg_control = controlBuffer.baseAddress
                        header.msg_controllen = controlBuffer.count
                        return sendmsg(fd, &header, CInt(MSG_NOSIGNAL))
                    }
                }
            }
        }
        guard sent >= 0 else { throw .socketFailed("send an mDNS packet to \(destination) on interface \(interfaceIndex)", errno: errno) }
    }

    private static func controlMessage(level: CInt, type: CInt, data: [UInt8]) -> [UInt8] {
        let headerLength = MemoryLayout<cmsghdr>.size
        var message = withUnsafeBytes(of: headerLength + data.count, Array.init)
        message += withUnsafeBytes(of: level, Array.init) + withUnsafeBytes(of: type, Array.init)
        message += data
        let aligned = (message.count + 7) & ~7
        return message + [UInt8](repeating: 0, count: aligned - message.count)
    }

    private static func fill(_ storage: inout sockaddr_storage, _ endpoint: MDNSEndpoint, interfaceIndex: Int32) -> socklen_t {
        withUnsafeMutableBytes(of: &storage) { raw in
            if endpoint.address.count == 4 {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = endpoint.port.bigEndian
                withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: endpoint.address) }
                withUnsafeBytes(of: address) { raw.copyMemory(from: $0) }
                return socklen_t(MemoryLayout<sockaddr_in>.size)
            }
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = endpoint.port.bigEndian
            address.sin6_scope_id = UInt32(interfaceIndex)
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: endpoint.address.prefix(16)) }
            withUnsafeBytes(of: address) { raw.copyMemory(from: $0) }
            return socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }

    /// Reads one waiting datagram, or nil when none waits (the socket is non-blocking).
    /// Datagrams larger than an mDNS message may be are cut, and then refused by the decoder.
    func receive() -> (bytes: [UInt8], source: MDNSEndpoint, interfaceIndex: Int32)? {
        var buffer = [UInt8](repeating: 0, count: DNSMessage.maximumLength + 1)
        var control = [UInt8](repeating: 0, count: 256)
        var storage = sockaddr_storage()
        let (received, controlLength) = buffer.withUnsafeMutableBytes { payloadBuffer in
            control.withUnsafeMutableBytes { controlBuffer in
                withUnsafeMutablePointer(to: &storage) { address in
                    var vector = iovec(iov_base: payloadBuffer.baseAddress, iov_len: payloadBuffer.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var header = msghdr()
                        header.msg_name = UnsafeMutableRawPointer(address)
                        header.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                        header.msg_iov = vectorPointer
                        header.msg_iovlen = 1
                        header.msg_control = controlBuffer.baseAddress
                        header.msg_controllen = controlBuffer.count
                        let count = recvmsg(fd, &header, 0)
                        return (count, Int(header.msg_controllen))
                    }
                }
            }
        }
        guard received >= 0 else { return nil }
        var interfaceIndex: Int32 = 0
        var offset = 0
        let headerLength = MemoryLayout<cmsghdr>.size
        while offset + headerLength <= controlLength {
            let length = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Int.self) }
            let level = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 8, as: CInt.self) }
            let type = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 12, as: CInt.self) }
            guard length >= headerLength, offset + length <= controlLength else { break }
            if level == CInt(IPPROTO_IP), type == Self.ipPktinfo, length >= headerLength + 4 {
                interfaceIndex = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + headerLength, as: Int32.self) }
            } else if level == CInt(IPPROTO_IPV6), type == Self.ipv6Pktinfo, length >= headerLength + 20 {
                interfaceIndex = Int32(bitPattern: control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + headerLength + 16, as: UInt32.self) })
            }
            offset += (length + 7) & ~7
        }
        let source: MDNSEndpoint = withUnsafeBytes(of: &storage) { raw in
            if raw.load(fromByteOffset: 0, as: sa_family_t.self) == sa_family_t(AF_INET) {
                let address = raw.loadUnaligned(as: sockaddr_in.self)
                return MDNSEndpoint(address: withUnsafeBytes(of: address.sin_addr, Array.init), port: UInt16(bigEndian: address.sin_port))
            }
            let address = raw.loadUnaligned(as: sockaddr_in6.self)
            return MDNSEndpoint(address: withUnsafeBytes(of: address.sin6_addr, Array.init), port: UInt16(bigEndian: address.sin6_port))
        }
        return (Array(buffer[..<received]), source, interfaceIndex)
    }

    func close() {
        Glibc.close(fd)
    }
}
