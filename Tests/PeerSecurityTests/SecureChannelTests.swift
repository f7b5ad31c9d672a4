import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import PeerSecurity

@Suite struct SecureChannelTests {
    @Test(arguments: ["127.0.0.1", "::1"])
    func twoIdentitiesAuthenticateEachOtherAndEcho(host: String) async throws {
        let folder = try TemporaryFolder()
        let alice = try makeIdentity(in: folder, "alice")
        let bob = try makeIdentity(in: folder, "bob")
        let server = try await TestServer.start(identity: alice, host: host)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        let message = Array("hello, people near me".utf8) + [UInt8](repeating: 0x5A, count: 40_000)
        let reply = group.next().makePromise(of: [UInt8].self)
        let connection = try await SecureChannel(identity: bob).clientConnect(
            group: group, host: host, port: server.port, expecting: alice.peerName
        ) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ReplyCollector(count: message.count, promise: reply))
            }
        }
        #expect(connection.peer.peerName == alice.peerName)
        #expect(connection.peer.certificateDER == alice.certificateDER)
        try await connection.channel.writeAndFlush(ByteBuffer(bytes: message))
        #expect(try await reply.futureResult.get() == message)

        #expect(await eventually { server.log.authenticated.count == 1 })
        let seenByServer = try #require(server.log.authenticated.first)
        #expect(seenByServer.peerName == bob.peerName)
        #expect(seenByServer.verificationCode == connection.peer.verificationCode)
        #expect(seenByServer.verificationCode == VerificationCode(local: alice.publicKeyDER, remote: bob.publicKeyDER))

        try await connection.channel.close()
        #expect(await eventually { server.log.closedCount == 1 })
        #expect(server.log.failures.isEmpty)
        try await group.shutdownGracefully()
        try await server.stop()
    }

    @Test func aThirdIdentityIsNotTheOneExpected() async throws {
        let folder = try TemporaryFolder()
        let alice = try makeIdentity(in: folder, "alice")
        let bob = try makeIdentity(in: folder, "bob")
        let mallory = try makeIdentity(in: folder, "mallory")
        let server = try await TestServer.start(identity: mallory)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        let error = await #expect(throws: ChannelSecurityError.self) {
            _ = try await SecureChannel(identity: bob).clientConnect(group: group, host: "127.0.0.1", port: server.port, expecting: alice.peerName)
        }
        #expect(error?.code == .peerMismatch)
        #expect(error?.message.contains(alice.peerName.description) == true)
        #expect(error?.message.contains(mallory.peerName.description) == true)
        try await group.shutdownGracefully()
        try await server.stop()
    }

    @Test func garbageIsDroppedAndTheServerGoesOn() async throws {
        let folder = try TemporaryFolder()
        let alice = try makeIdentity(in: folder, "alice")
        let bob = try makeIdentity(in: folder, "bob")
        let server = try await TestServer.start(identity: alice)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        for garbage in [Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), [UInt8](repeating: 0x16, count: 5) + [UInt8](repeating: 0xFF, count: 2000)] {
            let raw = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: server.port).get()
            try await raw.writeAndFlush(ByteBuffer(bytes: garbage))
            // The server closes the connection; closeFuture completes then.
            try await raw.closeFuture.get()
        }
        #expect(await eventually { server.log.failures.count == 2 })
        for failure in server.log.failures {
            #expect(failure.code == .handshakeFailed)
            #expect(failure.message.contains("TLS handshake failed"))
        }

        let connection = try await SecureChannel(identity: bob).clientConnect(group: group, host: "127.0.0.1", port: server.port, expecting: alice.peerName)
        #expect(connection.peer.peerName == alice.peerName)
        try await connection.channel.close()
        try await group.shutdownGracefully()
        try await server.stop()
    }

    @Test func aSilentClientIsDropped() async throws {
        let folder = try TemporaryFolder()
        let alice = try makeIdentity(in: folder, "alice")
        let server = try await TestServer.start(identity: alice, configuration: .init(handshakeTimeout: .milliseconds(300)))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        let raw = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: server.port).get()
        try await raw.closeFuture.get()  // closed by the server's timeout, not by us
        #expect(await eventually { server.log.failures.count == 1 })
        #expect(server.log.failures.first?.code == .handshakeTimeout)
        try await group.shutdownGracefully()
        try await server.stop()
    }

    @Test func anExpiredServerCertificateIsRefused() async throws {
        let folder = try TemporaryFolder()
        let alice = try makeIdentity(in: folder, "alice")
        let bob = try makeIdentity(in: folder, "bob")
        let expiredAlice = try expired(alice)
        let server = try await TestServer.start(identity: expiredAlice)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        let error = await #expect(throws: ChannelSecurityError.self) {
            _ = try await SecureChannel(identity: bob).clientConnect(group: group, host: "127.0.0.1", port: server.port, expecting: alice.peerName)
        }
        #expect(error?.code == .certificateExpired)
        #expect(error?.message.contains("expired") == true)
        // The server hears why from the alert.
        #expect(await eventually { server.log.failures.count == 1 })
        #expect(server.log.failures.first?.message.contains("expired") == true)
        try await group.shutdownGracefully()
        try await server.stop()
    }

    @Test func anExpiredClientCertificateIsRefused() async throws {
        let folder = try TemporaryFolder()
        let alice = try makeIdentity(in: folder, "alice")
        let bob = try makeIdentity(in: folder, "bob")
        let server = try await TestServer.start(identity: alice)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

        // In TLS 1.3 the client finishes before the server judges its
        // certificate, so the refusal reaches the client as an alert or a close.
        do {
            let connection = try await SecureChannel(identity: try expired(bob)).clientConnect(group: group, host: "127.0.0.1", port: server.port, expecting: alice.peerName)
            try await connection.channel.closeFuture.get()
        } catch {}
        #expect(await eventually { server.log.failures.count == 1 })
        let failure = try #require(server.log.failures.first)
        #expect(failure.code == .certificateExpired)
        #expect(failure.message.contains("expired"))
        #expect(server.log.authenticated.isEmpty)
        try await group.shutdownGracefully()
        try await server.stop()
    }

    @Test func aCertificateNotYetValidIsRefused() async throws {
        let folder = try TemporaryFolder()
        let alice = try makeIdentity(in: folder, "alice")
        let bob = try makeIdentity(in: folder, "bob")
        let future = try PeerCertificate.issueSelfSigned(key: alice.privateKey, notBeforeOffset: 86_400, notAfterOffset: 10 * 86_400)
        let server = try await TestServer.start(identity: PeerIdentity(directory: alice.directory, privateKey: alice.privateKey, certificate: future))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let error = await #expect(throws: ChannelSecurityError.self) {
            _ = try await SecureChannel(identity: bob).clientConnect(group: group, host: "127.0.0.1", port: server.port, expecting: alice.peerName)
        }
        #expect(error?.code == .certificateNotYetValid)
        try await group.shutdownGracefully()
        try await server.stop()
    }

    @Test func nobodyListeningFailsPlainly() async throws {
        let folder = try TemporaryFolder()
        let alice = try makeIdentity(in: folder, "alice")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Bind then close to get a port that nobody listens on.
        let probe = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = probe.localAddress!.port!
        try await probe.close()
        await #expect(throws: (any Error).self) {
            _ = try await SecureChannel(identity: alice).clientConnect(group: group, host: "127.0.0.1", port: port, expecting: alice.peerName)
        }
        try await group.shutdownGracefully()
    }

    /// The same key with a certificate that ended yesterday.
    func expired(_ identity: PeerIdentity) throws -> PeerIdentity {
        let certificate = try PeerCertificate.issueSelfSigned(key: identity.privateKey, notBeforeOffset: -10 * 86_400, notAfterOffset: -86_400)
        return PeerIdentity(directory: identity.directory, privateKey: identity.privateKey, certificate: certificate)
    }
}

@Suite struct SecureChannelLoadTests {
    /// A hundred handshakes one after another: the server keeps accepting, every
    /// connection is authenticated, and the rate is printed for the record
    /// (not asserted: timing depends on the machine).
    @Test func aHundredHandshakesInARow() async throws {
        let folder = try TemporaryFolder()
        let alice = try makeIdentity(in: folder, "alice")
        let bob = try makeIdentity(in: folder, "bob")
        let server = try await TestServer.start(identity: alice)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let secure = try SecureChannel(identity: bob)
        let count = 100
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<count {
            let connection = try await secure.clientConnect(group: group, host: "127.0.0.1", port: server.port, expecting: alice.peerName)
            try await connection.channel.close()
        }
        let elapsed = clock.now - started
        #expect(await eventually { server.log.authenticated.count == count })
        #expect(server.log.failures.isEmpty)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("PeerSecurity: \(count) sequential TLS 1.3 Ed25519 handshakes on loopback in \(Int(seconds * 1000)) ms, \(Int(Double(count) / seconds)) per second")
        try await group.shutdownGracefully()
        try await server.stop()
    }
}
