import Collaboration
import DBus
import PeerCollabAPI
import Foundation
import PeerProtocol
import Synchronization
import Testing
import TestSupport

/// The daemon against hostile neighbours on its own machine: a second daemon on the same
/// identity, a folder others can read, huge calls, names that hide text, foreign keys.
@Suite struct HardeningTests {
    static func emptyHome() throws -> URL {
        try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
    }

    /// Sets the Manager's DisplayName property (there is no method for it).
    static func setDisplayName(_ name: String, on connection: DBusConnection, timeout: Duration = .seconds(30)) async throws {
        _ = try await connection.call(
            destination: DaemonProcess.service, path: DaemonProcess.root,
            interface: "org.freedesktop.DBus.Properties", member: "Set",
            arguments: [.string(DaemonProcess.manager), .string("DisplayName"), .variant(.string(name))], timeout: timeout)
    }

    // MARK: One daemon per identity

    @Test func aSecondDaemonOnTheSameFoldersIsRefusedNamingTheFirst() async throws {
        let home = try Self.emptyHome()
        let firstBus = try PrivateBus()
        let firstClient = try DBusConnection(bus: .address(firstBus.address))
        defer { firstClient.close() }
        let first = try DaemonProcess(bus: firstBus, home: home)
        try await first.waitUntilServing(firstClient)

        // Another session bus of the same user, the same XDG folders.
        let secondBus = try PrivateBus()
        let secondClient = try DBusConnection(bus: .address(secondBus.address))
        defer { secondClient.close() }
        let second = try DaemonProcess(bus: secondBus, home: home)
        let status = try await second.waitForExit()
        #expect(status != 0, "\(second.log)")
        #expect(second.log.contains("PID \(first.pid)"), "\(second.log)")
        #expect(second.log.contains(first.dataDirectory.path), "\(second.log)")
        #expect(try await secondClient.nameOwner(DaemonProcess.service) == nil)
        let lockFile = first.dataDirectory.appendingPathComponent("peercollabd.lock")
        #expect(try String(contentsOf: lockFile, encoding: .utf8) == "\(first.pid)\n")
        #expect(first.isRunning)

        // Once the first has stopped, its folders are free (the lock file it leaves behind
        // holds nobody back).
        first.signal(SIGTERM)
        #expect(try await first.waitForExit() == 0)
        let third = try DaemonProcess(bus: secondBus, home: home)
        try await third.waitUntilServing(secondClient)
        #expect(try String(contentsOf: lockFile, encoding: .utf8) == "\(third.pid)\n")
        third.signal(SIGTERM)
        #expect(try await third.waitForExit() == 0)
    }

    // MARK: A private data folder

    @Test func aDataFolderOthersCanReadIsMadePrivateAtStart() async throws {
        let home = try Self.emptyHome()
        let data = home.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        #expect(chmod(data.path, 0o755) == 0)
        let bus = try PrivateBus()
        let client = try DBusConnection(bus: .address(bus.address))
        defer { client.close() }
        let daemon = try DaemonProcess(bus: bus, home: home)
        try await daemon.waitUntilServing(client)
        var status = stat()
        #expect(stat(data.path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o700, "mode \(String(status.st_mode & 0o777, radix: 8))")
        #expect(daemon.log.contains("Made the data folder private"), "\(daemon.log)")
        #expect(daemon.log.contains("mode_before=755"), "\(daemon.log)")
    }

    // MARK: Huge calls

    @Test func aHugeCallIsRefusedWhileOthersKeepBeingServed() async throws {
        let daemon = try await LocalDaemon()
        let other = try DBusConnection(bus: .address(daemon.bus.address))
        defer { other.close() }
        let client = daemon.client
        let finished = Store(false)
        let huge = Task {
            defer { finished.set(true) }
            // 24 MiB: far below the test bus's limit (the session bus's, 1 GB), so refusing it is the daemon's doing.
            try await Self.setDisplayName(String(repeating: "x", count: 24 << 20), on: client, timeout: .seconds(60))
        }
        // Another caller keeps being answered (bounded) until the huge call is.
        var answered = 0
        while !finished.get() && answered < 100_000 {
            #expect(try await other.managerProperty("Version").stringValue?.isEmpty == false)
            answered += 1
        }
        let outcome = await huge.result
        guard case .failure(let error as DBusError) = outcome else {
            Issue.record("the 24 MiB call was not refused: \(outcome)")
            return
        }
        #expect(error.name == DBusError.StandardName.limitsExceeded, "\(error)")
        #expect(error.message.contains("256 KiB"), "\(error.message)")
        #expect(daemon.daemon.isRunning)
        try await Self.setDisplayName("Still Here", on: client)
        #expect(try await daemon.manager("DisplayName").stringValue == "Still Here")
    }

    // MARK: Names that hide text

    @Test func invisibleCharactersAreRefusedInMyNameAndRemovedFromPeers() async throws {
        let daemon = try await LocalDaemon(signIn: "internet")
        for (name, character, position) in [
            ("Eve\u{202E}gnp.exe", "U+202E", 4), ("\u{200B}Ada", "U+200B", 1), ("Ad\u{2066}a", "U+2066", 3),
            ("A\u{200F}da", "U+200F", 2), ("Ada\u{FEFF}", "U+FEFF", 4), ("A\u{00AD}da", "U+00AD", 2),
        ] {
            let error = await #expect(throws: DBusError.self) { try await Self.setDisplayName(name, on: daemon.client) }
            #expect(error?.name == PeerCollabErrorName.invalidArgument.busName)
            #expect(error?.message.contains("\(character) at position \(position)") == true, "\(error?.message ?? "")")
        }
        #expect(try await daemon.manager("DisplayName").stringValue?.unicodeScalars.contains { $0.properties.generalCategory == .format } == false)

        // A peer's name and presence message lose them.
        let peer = try await TestPeer(dialing: "127.0.0.1", port: try await daemon.port, expecting: try await daemon.peerName)
        defer { Task { await peer.close() } }
        let path = try DBusObjectPath(PeerCollabBus.peerPath("\(peer.identity.peerName)"))
        // The peer is shown once this first profile arrived.
        peer.send(.profile(PeerProfile(
            displayName: "Mallory\u{202E}gnp.exe", presence: PeerPresence(status: .busy, message: "in a\u{200B} meet\u{2067}ing"))))
        try await eventually("the peer's profile shown") {
            (try? await daemon.peerProperty(path, "PresenceStatus"))?.stringValue == "busy" ? true : nil
        }
        #expect(try await daemon.peerProperty(path, "DisplayName").stringValue == "Mallorygnp.exe")
        #expect(try await daemon.peerProperty(path, "PresenceMessage").stringValue == "in a meeting")
        peer.send(.presenceUpdate(PeerPresence(status: .away, message: "\u{202D}back soon\u{200D}")))
        try await eventually("the peer's new presence shown") {
            (try? await daemon.peerProperty(path, "PresenceStatus"))?.stringValue == "away" ? true : nil
        }
        #expect(try await daemon.peerProperty(path, "PresenceMessage").stringValue == "back soon")
        // A name of nothing but invisible characters is shown as U+FFFD, never empty.
        peer.send(.profile(PeerProfile(displayName: "\u{200B}\u{200C}", presence: PeerPresence(status: .online))))
        try await eventually("the invisible name shown as U+FFFD") {
            (try? await daemon.peerProperty(path, "DisplayName"))?.stringValue == "\u{FFFD}" ? true : nil
        }
    }

    // MARK: Ed25519 only

    @Test func aContactCardWithAnRSACertificateIsRefused() async throws {
        let daemon = try await LocalDaemon()
        let folder = try Self.emptyHome()
        let certificate = folder.appendingPathComponent("rsa.der").path
        let made = try await ProcessRunner.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", folder.appendingPathComponent("rsa.key").path,
            "-outform", "DER", "-out", certificate, "-days", "30", "-subj", "/CN=rsa",
        ])
        try #require(made.status == 0, "\(made.standardError)")
        let der = try [UInt8](Data(contentsOf: URL(fileURLWithPath: certificate)))
        let someone = try ContactCards.person("Rosa")
        let card = ContactCard(
            displayName: "Rosa", email: nil, peerName: someone.peerName, certificateDER: der,
            endpoints: [ContactEndpoint(host: "192.0.2.9", port: 4000)]
        ).encode()
        let error = await #expect(throws: DBusError.self) { _ = try await daemon.client.addContact(card) }
        #expect(error?.name == PeerCollabErrorName.invalidCard.busName, "\(String(describing: error))")
        #expect(error?.message.contains("RSA") == true && error?.message.contains("Ed25519") == true, "\(error?.message ?? "")")
        #expect(try await daemon.client.contacts().isEmpty)
    }
}
