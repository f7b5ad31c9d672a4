import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One thread that sleeps in poll(2) on the mDNS sockets, the netlink socket and a wake-up
/// pipe, and hands what arrives to the backend through a bounded stream. Nothing runs
/// while nothing arrives.
final class MDNSReceiveLoop: Sendable {
    enum Event: Sendable {
        case packet(bytes: [UInt8], source: MDNSEndpoint, interfaceIndex: Int32)
        case interfacesChanged
    }

    let events: AsyncStream<Event>
    private let continuation: AsyncStream<Event>.Continuation
    private let sockets: [MDNSSocket]
    private let netlink: NetlinkWatcher?
    private let wakeRead: CInt
    private let wakeWrite: CInt
    private let thread = NIOThreadPool(numberOfThreads: 1)

    init(sockets: [MDNSSocket], netlink: NetlinkWatcher?) throws(MDNSError) {
        var pipeFDs: [CInt] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw .socketFailed("create a wake-up pipe", errno: errno) }
        for fd in pipeFDs { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
        self.sockets = sockets
        self.netlink = netlink
        // A flood must not grow memory: beyond 1024 waiting packets the oldest are dropped.
        (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(1024))
    }

    func start() {
        thread.start()
        thread.submit { [self] _ in run() }
    }

    /// Ends the loop and waits for its thread; the stream finishes and the descriptors close.
    func stop() async {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        try? await thread.shutdownGracefully()
        close(wakeWrite)
    }

    private func run() {
        var descriptors = sockets.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        if let netlink { descriptors.append(pollfd(fd: netlink.fd, events: Int16(POLLIN), revents: 0)) }
        descriptors.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
        loop: while true {
            let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if descriptors.last!.revents != 0 { break loop }
            for (index, socket) in sockets.enumerated() where descriptors[index].revents != 0 {
                // Bounded drain, so one busy socket cannot starve the others.
                for _ in 0..<64 {
                    guard let (bytes, source, interfaceIndex) = socket.receive() else { break }
                    continuation.yield(.packet(bytes: bytes, source: source, interfaceIndex: interfaceIndex))
                }
            }
            if let netlink, descriptors[sockets.count].revents != 0, netlink.drain() {
                continuation.yield(.interfacesChanged)
            }
        }
        continuation.finish()
        sockets.forEach { $0.close() }
        netlink?.close()
        close(wakeRead)
    }
}
