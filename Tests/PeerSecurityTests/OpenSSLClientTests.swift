import Foundation
import Testing

@testable import PeerSecurity

/// The server side against the `openssl s_client` command, a TLS stack we did not configure.
@Suite struct OpenSSLClientTests {
    static let openssl = "/usr/bin/openssl"

    /// A key and self-signed certificate made by the openssl command: Ed25519 unless
    /// `newkey` says otherwise (`rsa:2048`, `ec -pkeyopt ...`).
    struct CommandLineCertificate {
        let key: String
        let certificate: String
        let peerName: PeerName

        init(in folder: TemporaryFolder, newkey: [String] = ["ed25519"]) throws {
            key = folder.file("cli-key.pem")
            certificate = folder.file("cli-cert.pem")
            let made = try runProgram(OpenSSLClientTests.openssl, [
                "req", "-x509", "-newkey"] + newkey + ["-nodes", "-keyout", key, "-out", certificate,
                "-days", "30", "-subj", "/CN=made by the openssl command",
            ])
            #expect(made.status == 0, "\(made.output)")
            let spki = folder.file("cli-spki.der")
            let extracted = try runProgram(OpenSSLClientTests.openssl, ["pkey", "-in", key, "-pubout", "-outform", "DER", "-out", spki])
            #expect(extracted.status == 0, "\(extracted.output)")
            peerName = PeerName(publicKeyDER: try [UInt8](Data(contentsOf: URL(fileURLWithPath: spki))))
        }
    }

    /// Runs s_client against the server, sends a line, waits (bounded) until
    /// the server has judged the connection and, if accepted, the echo came back.
    func connect(_ server: TestServer, folder: TemporaryFolder, arguments: [String]) async throws -> ProgramRun {
        let outputPath = folder.file("s_client-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let input = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.openssl)
        process.arguments = ["s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "peer"] + arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        let judgedBefore = server.log.authenticated.count + server.log.failures.count
        try process.run()
        input.fileHandleForWriting.write(Data("ping-from-s_client\n".utf8))

        func text() -> String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        _ = await eventually { server.log.authenticated.count + server.log.failures.count > judgedBefore || !process.isRunning }
        if server.log.authenticated.count > 0 {
            _ = await eventually { text().contains("ping-from-s_client") }
        } else {
            // Give s_client a moment to read the alert the server sent.
            _ = await eventually(within: 2) { !process.isRunning }
        }
        try? input.fileHandleForWriting.close()
        if !(await eventually(within: 10, { !process.isRunning })) { process.terminate() }
        process.waitUntilExit()
        try output.close()
        return ProgramRun(status: process.terminationStatus, output: text())
    }

    @Test func tls12IsRefused() async throws {
        let folder = try TemporaryFolder()
        let client = try CommandLineCertificate(in: folder)
        let server = try await TestServer.start(identity: try makeIdentity(in: folder, "alice"))
        let run = try await connect(server, folder: folder, arguments: ["-tls1_2", "-cert", client.certificate, "-key", client.key, "-alpn", "peercollab/1"])
        #expect(run.status != 0)
        #expect(run.output.contains("alert protocol version"), "\(run.output)")
        #expect(await eventually { server.log.failures.count == 1 })
        #expect(server.log.failures.first?.message.contains("unsupported protocol") == true, "\(server.log.failures)")
        #expect(server.log.authenticated.isEmpty)
        try await server.stop()
    }

    @Test func aClientWithoutCertificateIsRefused() async throws {
        let folder = try TemporaryFolder()
        let server = try await TestServer.start(identity: try makeIdentity(in: folder, "alice"))
        let run = try await connect(server, folder: folder, arguments: ["-alpn", "peercollab/1"])
        #expect(await eventually { server.log.failures.count == 1 })
        #expect(server.log.failures.first?.code == .noPeerCertificate, "\(server.log.failures)")
        #expect(server.log.authenticated.isEmpty)
        #expect(!run.output.contains("ping-from-s_client"))
        try await server.stop()
    }

    @Test func aClientWithoutALPNIsRefused() async throws {
        let folder = try TemporaryFolder()
        let client = try CommandLineCertificate(in: folder)
        let server = try await TestServer.start(identity: try makeIdentity(in: folder, "alice"))
        let run = try await connect(server, folder: folder, arguments: ["-cert", client.certificate, "-key", client.key])
        #expect(run.status != 0)
        #expect(run.output.contains("no application protocol"), "\(run.output)")
        #expect(await eventually { server.log.failures.count == 1 })
        #expect(server.log.failures.first?.code == .applicationProtocolMismatch, "\(server.log.failures)")
        try await server.stop()
    }

    @Test func aClientOfferingAnotherProtocolIsRefused() async throws {
        let folder = try TemporaryFolder()
        let client = try CommandLineCertificate(in: folder)
        let server = try await TestServer.start(identity: try makeIdentity(in: folder, "alice"))
        let run = try await connect(server, folder: folder, arguments: ["-cert", client.certificate, "-key", client.key, "-alpn", "http/1.1,peercollab/2"])
        #expect(run.status != 0)
        #expect(await eventually { server.log.failures.count == 1 })
        #expect(server.log.failures.first?.code == .applicationProtocolMismatch, "\(server.log.failures)")
        try await server.stop()
    }

    @Test(arguments: [["rsa:2048"], ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]])
    func aClientWithAnotherKindOfCertificateIsRefused(newkey: [String]) async throws {
        let folder = try TemporaryFolder()
        let client = try CommandLineCertificate(in: folder, newkey: newkey)
        let server = try await TestServer.start(identity: try makeIdentity(in: folder, "alice"))
        let run = try await connect(server, folder: folder, arguments: ["-cert", client.certificate, "-key", client.key, "-alpn", "peercollab/1"])
        #expect(await eventually { server.log.failures.count == 1 })
        let failure = try #require(server.log.failures.first)
        #expect(failure.code == .certificateRejected, "\(server.log.failures)")
        #expect(failure.message.contains("Ed25519"), "\(failure.message)")
        #expect(server.log.authenticated.isEmpty)
        #expect(!run.output.contains("ping-from-s_client"))
        try await server.stop()
    }

    @Test func aCertificateOfAnotherKeyTypeIsNotAPeerCertificate() throws {
        let folder = try TemporaryFolder()
        let rsa = try CommandLineCertificate(in: folder, newkey: ["rsa:2048"])
        let pem = try String(contentsOfFile: rsa.certificate, encoding: .utf8)
        let error = #expect(throws: PeerSecurityError.self) { try PeerCertificate(pemEncoded: pem) }
        #expect(error?.code == .invalidCertificate)
        #expect(error?.message.contains("an RSA key") == true && error?.message.contains("Ed25519") == true, "\(error?.message ?? "")")
        let other = try TemporaryFolder()
        let ed25519 = try CommandLineCertificate(in: other)
        #expect(try PeerCertificate(pemEncoded: try String(contentsOfFile: ed25519.certificate, encoding: .utf8)).peerName == ed25519.peerName)
    }

    @Test func aClientWithCertificateAndALPNIsAccepted() async throws {
        let folder = try TemporaryFolder()
        let client = try CommandLineCertificate(in: folder)
        let alice = try makeIdentity(in: folder, "alice")
        let server = try await TestServer.start(identity: alice)
        let run = try await connect(server, folder: folder, arguments: ["-cert", client.certificate, "-key", client.key, "-alpn", "peercollab/1"])
        #expect(await eventually { server.log.authenticated.count == 1 })
        let peer = try #require(server.log.authenticated.first)
        #expect(peer.peerName == client.peerName)
        #expect(run.output.contains("TLSv1.3"), "\(run.output)")
        #expect(run.output.contains("ALPN protocol: peercollab/1"), "\(run.output)")
        // The line came back through the server's echo handler.
        #expect(run.output.contains("ping-from-s_client"))
        #expect(server.log.failures.isEmpty, "\(server.log.failures)")
        try await server.stop()
    }
}
