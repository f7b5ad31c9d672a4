import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import PeerSecurity

/// A folder under /tmp removed when the test is done.
final class TemporaryFolder: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/peersecurity-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// Waits, in bounded steps, until `condition` holds; returns whether it did.
func eventually(within seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
    let steps = Int(seconds * 100)
    for _ in 0..<steps {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// What a test server saw on its accepted channels.
enum ServerEvent: Sendable {
    case authenticated(PeerAuthenticated)
    case failed(ChannelSecurityError)
    case closed
}

/// A thread-safe log of server events.
final class ServerLog: Sendable {
    private let events = Mutex<[ServerEvent]>([])

    func append(_ event: ServerEvent) { events.withLock { $0.append(event) } }
    var all: [ServerEvent] { events.withLock { $0 } }
    var authenticated: [PeerAuthenticated] {
        all.compactMap { if case .authenticated(let peer) = $0 { peer } else { nil } }
    }
    var failures: [ChannelSecurityError] {
        all.compactMap { if case .failed(let error) = $0 { error } else { nil } }
    }
    var closedCount: Int { all.filter { if case .closed = $0 { true } else { false } }.count }
}

/// Records what the security handler reports and echoes plaintext back.
final class EchoRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let log: ServerLog

    init(log: ServerLog) { self.log = log }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let peer = event as? PeerAuthenticated { log.append(.authenticated(peer)) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? ChannelSecurityError { log.append(.failed(error)) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        log.append(.closed)
        context.fireChannelInactive()
    }
}

/// Collects plaintext until `count` bytes arrived.
final class ReplyCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var received: [UInt8] = []
    private let count: Int
    private let promise: EventLoopPromise<[UInt8]>

    init(count: Int, promise: EventLoopPromise<[UInt8]>) {
        self.count = count
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytesView
        if received.count >= count { promise.succeed(received) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ChannelError.eof)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
    }
}

/// A running echo server for one identity on a loopback address.
struct TestServer {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    let log: ServerLog
    var port: Int { channel.localAddress!.port! }

    static func start(identity: PeerIdentity, host: String = "127.0.0.1", configuration: SecureChannel.Configuration = .init()) async throws -> TestServer {
        try await start(secure: SecureChannel(identity: identity, configuration: configuration), host: host)
    }

    static func start(secure: SecureChannel, host: String = "127.0.0.1") async throws -> TestServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let log = ServerLog()
        let channel = try await secure.serverBootstrap(group: group) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(EchoRecorder(log: log))
            }
        }.bind(host: host, port: 0).get()
        return TestServer(group: group, channel: channel, log: log)
    }

    func stop() async throws {
        try await channel.close()
        try await group.shutdownGracefully()
    }
}

/// An identity in its own temporary folder.
func makeIdentity(in folder: TemporaryFolder, _ name: String) throws -> PeerIdentity {
    try PeerIdentity.loadOrCreate(directory: folder.file(name))
}

/// Runs a program with a bounded wait; returns its exit status and output.
struct ProgramRun {
    let status: Int32
    let output: String
}
