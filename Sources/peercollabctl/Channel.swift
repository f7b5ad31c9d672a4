import ArgumentParser
import DBus
import PeerCollabAPI

#if canImport(Glibc)
import Glibc
#endif

/// `peercollabctl channel open INVITATION NAME`: stdin and stdout joined to an application
/// channel, as `nc` joins them to a TCP connection, for scripts and tests.
struct Channel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Use an application channel of an accepted invitation from the shell.",
        subcommands: [Open.self])

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a channel and join it to stdin and stdout, like nc.",
            discussion: """
                The other side's application (or another 'peercollabctl channel open') opens the same name on its side \
                of the same invitation; until then what you type waits. End of stdin ends your side of the stream (the \
                other side reads end-of-file); the command exits once the other side's stream ends (status 0) or when \
                the channel breaks (status 1, with the reason).
                """)
        @OptionGroup var options: GlobalOptions
        @Argument(help: ArgumentHelp("The invitation id or object path."), completion: .invitations) var invitation: String
        @Argument(help: ArgumentHelp("The channel's name: 1 to 128 bytes.")) var name: String

        func run() async throws {
            let path = try InvitationArgument.path(invitation)
            let client = try DaemonClient(options: options)
            let reply: [DBusValue]
            do {
                reply = try await client.connection.call(
                    destination: DaemonClient.service, path: path, interface: DaemonClient.invitation, member: "OpenChannel",
                    arguments: [.string(name)])
            } catch let error as DBusError {
                throw InvitationArgument.notFound(error, invitation)
            }
            guard case .unixFD(let socket)? = reply.first else {
                throw Failure.refused(Failure.Name.failed, "The daemon returned no channel descriptor.")
            }
            try ChannelPump.run(socket: socket.fileDescriptor)
        }
    }
}

/// Copies stdin to the socket and the socket to stdout with one `poll` loop (no thread):
/// stdin is read only when what was read before has gone into the socket, so a channel
/// whose reader stops makes this stop reading stdin too.
enum ChannelPump {
    static func run(socket: Int32) throws {
        signal(SIGPIPE, SIG_IGN)
        _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
        var input = true
        var pending: [UInt8] = []
        var sent = 0
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
            if !pending.isEmpty { fds[0].events |= Int16(POLLOUT) }
            if input && pending.isEmpty { fds.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 || errno == EINTR else { throw failure("poll") }
            if fds.count > 1, fds[1].revents != 0 {
                let count = read(STDIN_FILENO, &buffer, buffer.count)
                if count > 0 {
                    pending = Array(buffer[0..<count])
                    sent = 0
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    input = false
                    shutdown(socket, Int32(SHUT_WR))
                }
            }
            if !pending.isEmpty, fds[0].revents & Int16(POLLOUT | POLLERR | POLLHUP) != 0 {
                let count = pending[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if count > 0 {
                    sent += count
                    if sent == pending.count { pending = [] }
                } else if count < 0, errno != EAGAIN, errno != EINTR {
                    throw failure("write to the channel")
                }
            }
            if fds[0].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let count = recv(socket, &buffer, buffer.count, 0)
                if count == 0 { return }
                if count < 0 {
                    if errno == EAGAIN || errno == EINTR { continue }
                    throw failure("read from the channel")
                }
                var offset = 0
                while offset < count {
                    let written = buffer[offset..<count].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw failure("write to stdout")
                    }
                    offset += written
                }
            }
        }
    }

    static func failure(_ what: String) -> Failure {
        let code = errno
        let why = code == ECONNRESET || code == EPIPE
            ? "the channel was broken off (the peer left, a daemon stopped, or the other application closed it)"
            : String(cString: strerror(code))
        return Failure.refused(Failure.Name.failed, "Failed to \(what): \(why).")
    }
}
