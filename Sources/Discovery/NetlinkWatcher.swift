#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A NETLINK_ROUTE socket subscribed to link and address changes (RTM_NEWLINK/DELLINK,
/// RTM_NEWADDR/DELADDR). The receive loop polls its descriptor beside the mDNS sockets;
/// a readable socket means "list the interfaces again", so messages are drained, not parsed
/// beyond their type.
final class NetlinkWatcher: Sendable {
    let fd: CInt

    init?() {
        let fd = socket(AF_NETLINK, CInt(SOCK_RAW.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0 /* NETLINK_ROUTE */)
        guard fd >= 0 else { return nil }
        // struct sockaddr_nl (not in the Glibc module): family, pad, pid, groups
        // RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR.
        var address: [UInt8] = withUnsafeBytes(of: UInt16(AF_NETLINK), Array.init) + [0, 0, 0, 0, 0, 0]
            + withUnsafeBytes(of: UInt32(0x1 | 0x10 | 0x100), Array.init)
        let result = address.withUnsafeMutableBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard result == 0 else {
            Glibc.close(fd)
            return nil
        }
        self.fd = fd
    }

    /// Reads everything waiting; true when a link or address change was among it.
    func drain() -> Bool {
        var changed = false
        var buffer = [UInt8](repeating: 0, count: 16384)
        for _ in 0..<1024 {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 { break }
            var offset = 0
            while offset + 16 <= count {
                let length = Int(buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) })
                let type = buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self) }
                // RTM_NEWLINK 16, RTM_DELLINK 17, RTM_NEWADDR 20, RTM_DELADDR 21
                if [16, 17, 20, 21].contains(type) { changed = true }
                guard length >= 16 else { break }
                offset += (length + 3) & ~3
            }
            // ENOBUFS means changes were lost; listing again covers them.
            if count == 0 { break }
        }
        if errno == ENOBUFS { changed = true }
        return changed
    }

    func close() {
        Glibc.close(fd)
    }
}
