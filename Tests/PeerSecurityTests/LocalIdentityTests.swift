import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import PeerSecurity

/// The identity a daemon starts with: loaded only when needed, named from a summary that
/// is believed only while the identity files are untouched.
@Suite struct LocalIdentityTests {
    private func summaryText(_ directory: String) throws -> String {
        try String(contentsOfFile: directory + "/" + IdentitySummary.fileName, encoding: .utf8)
    }

    private func inode(_ path: String) throws -> UInt64 {
        try #require(IdentitySummary.FileStamp(path: path)).inode
    }

    @Test func theFirstStartLoadsAndTheNextOnlyReadsTheSummary() throws {
        let folder = try TemporaryFolder()
        let directory = folder.file("data")
        let first = try LocalIdentity.open(directory: directory)
        #expect(first.isLoaded)
        let made = try first.load()
        let summary = try #require(IdentitySummary(parsing: try summaryText(directory)))
        #expect(summary.peerName == made.peerName)
        #expect(summary.fingerprint == made.fingerprint)
        #expect(summary.notAfter == made.notAfter)
        let summaryInode = try inode(directory + "/" + IdentitySummary.fileName)

        let second = try LocalIdentity.open(directory: directory)
        #expect(!second.isLoaded)
        #expect(second.peerName == made.peerName)
        #expect(second.fingerprint == made.fingerprint)
        let loaded = try second.load()
        #expect(second.isLoaded)
        #expect(loaded.certificateDER == made.certificateDER)
        #expect(loaded.publicKeyDER == made.publicKeyDER)
        // A load that changed nothing does not rewrite the summary.
        #expect(try inode(directory + "/" + IdentitySummary.fileName) == summaryInode)
    }

    @Test func anIdentityReplacedBeforeTheStartIsLoadedAtOnce() throws {
        let folder = try TemporaryFolder()
        let directory = folder.file("data")
        let old = try LocalIdentity.open(directory: directory)
        let other = try PeerIdentity.loadOrCreate(directory: folder.file("other"))
        for name in [PeerIdentity.keyFileName, PeerIdentity.certificateFileName] {
            #expect(rename(folder.file("other/" + name), directory + "/" + name) == 0)
        }
        let opened = try LocalIdentity.open(directory: directory)
        #expect(opened.isLoaded)
        #expect(opened.peerName == other.peerName)
        #expect(opened.peerName != old.peerName)
        #expect(IdentitySummary(parsing: try summaryText(directory))?.peerName == other.peerName)
    }

    @Test func aKeyMadeReadableByOthersIsRefusedUntilPutRightButTheNameIsKnown() throws {
        let folder = try TemporaryFolder()
        let first = try LocalIdentity.open(directory: folder.path)
        #expect(chmod(folder.file(PeerIdentity.keyFileName), 0o644) == 0)
        let opened = try LocalIdentity.open(directory: folder.path)
        #expect(opened.peerName == first.peerName)
        #expect(opened.fingerprint == first.fingerprint)
        #expect(opened.refusedAtStart?.contains("chmod 600") == true)
        let error = #expect(throws: PeerSecurityError.self) { try opened.load() }
        #expect(error?.code == .keyFileExposed)
        #expect(chmod(folder.file(PeerIdentity.keyFileName), 0o600) == 0)
        #expect(try opened.load().peerName == first.peerName)
    }

    @Test func aCertificateDueForRenewalIsRenewedAtTheStart() throws {
        let folder = try TemporaryFolder()
        let first = try LocalIdentity.open(directory: folder.path)
        let notAfter = try first.load().notAfter
        // Started when less than the renewal margin is left: loaded and renewed at once.
        let later = try LocalIdentity.open(directory: folder.path, now: notAfter - PeerIdentity.renewalMargin + 1)
        #expect(later.isLoaded)
        #expect(later.peerName == first.peerName)
        #expect(later.fingerprint != first.fingerprint)
        #expect(IdentitySummary(parsing: try summaryText(folder.path))?.fingerprint == later.fingerprint)
        // The renewed certificate is good for a year from now: the next start is lazy again.
        #expect(!(try LocalIdentity.open(directory: folder.path).isLoaded))
    }

    @Test(arguments: [
        "",
        "peercollab identity cache 2\n",
        "not a summary at all",
        String(repeating: "x", count: 4096),
    ])
    func aSummaryThatIsNotOursIsIgnoredAndRewritten(contents: String) throws {
        let folder = try TemporaryFolder()
        let made = try LocalIdentity.open(directory: folder.path)
        try contents.write(toFile: folder.file(IdentitySummary.fileName), atomically: true, encoding: .utf8)
        let opened = try LocalIdentity.open(directory: folder.path)
        #expect(opened.isLoaded)
        #expect(opened.peerName == made.peerName)
        #expect(IdentitySummary(parsing: try summaryText(folder.path))?.peerName == made.peerName)
    }

    @Test func everyDamagedLineOfASummaryIsRefused() throws {
        let folder = try TemporaryFolder()
        _ = try LocalIdentity.open(directory: folder.path)
        let good = try summaryText(folder.path)
        #expect(IdentitySummary(parsing: good) != nil)
        let lines = good.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 7)
        // Each line in turn: dropped, emptied, its value changed in form, duplicated.
        for index in 0..<6 {
            var variants: [[String]] = []
            variants.append(lines.enumerated().filter { $0.offset != index }.map(\.element))
            variants.append(lines.enumerated().map { $0.offset == index ? "" : $0.element })
            variants.append(lines.enumerated().map { $0.offset == index ? $0.element.uppercased() : $0.element })
            variants.append(lines.enumerated().map { $0.offset == index ? $0.element + " 1" : $0.element })
            variants.append(lines.enumerated().map { $0.offset == index ? "+" + $0.element : $0.element })
            var doubled = lines
            doubled.insert(lines[index], at: index)
            variants.append(doubled)
            for variant in variants {
                let text = variant.joined(separator: "\n")
                #expect(IdentitySummary(parsing: text) == nil, "accepted: \(text.debugDescription)")
            }
        }
        // A peer name whose check character is wrong, and a fingerprint with a sign.
        var badName = lines
        badName[1] = String(badName[1].dropLast()) + (badName[1].hasSuffix("a") ? "b" : "a")
        #expect(IdentitySummary(parsing: badName.joined(separator: "\n")) == nil)
        var signed = lines
        signed[2] = "fingerprint +" + signed[2].dropFirst("fingerprint ".count).dropFirst()
        #expect(IdentitySummary(parsing: signed.joined(separator: "\n")) == nil)
        #expect(IdentitySummary(parsing: good + "\n") == nil)
    }

    /// The summary is a file anyone with the user's rights may have edited: random edits of
    /// a good one never crash the parser, and whatever still parses is exactly the canonical
    /// text of what it parsed to (so no two texts mean the same summary).
    @Test func randomEditsOfASummaryParseOnlyToCanonicalText() throws {
        let folder = try TemporaryFolder()
        _ = try LocalIdentity.open(directory: folder.path)
        let good = Array(try summaryText(folder.path).utf8)
        var random = SplitMix64(seed: 0x5EED)
        var parsed = 0
        for _ in 0..<20_000 {
            var bytes = good
            for _ in 0...Int.random(in: 0..<3, using: &random) {
                let position = Int.random(in: 0...bytes.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0 where position < bytes.count: bytes[position] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes.insert(Array("0123456789abcdefz+- \n".utf8).randomElement(using: &random)!, at: position)
                case 2 where position < bytes.count: bytes.remove(at: position)
                default: bytes = Array(bytes.prefix(position))
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if let summary = IdentitySummary(parsing: text) {
                parsed += 1
                #expect(summary.encoded == text, "\(text.debugDescription)")
            }
        }
        // Some edits keep it valid (a digit of a stamp changed); most do not.
        #expect(parsed > 0 && parsed < 20_000)
    }

    @Test func aSummaryThatNamesAnotherKeyFailsTheLoadAndIsRemoved() throws {
        let folder = try TemporaryFolder()
        let real = try LocalIdentity.open(directory: folder.path)
        // A summary stamped with the files as they are but naming someone else: what a
        // summary would say if the files were changed without their stamps moving.
        let stranger = try PeerIdentity.loadOrCreate(directory: folder.file("stranger"))
        let current = try #require(IdentitySummary(parsing: try summaryText(folder.path)))
        let lying = IdentitySummary(
            peerName: stranger.peerName, fingerprint: stranger.fingerprint, notAfter: current.notAfter,
            key: current.key, certificate: current.certificate)
        try lying.write(directory: folder.path)
        // Writing the summary must not move the identity files' stamps.
        #expect(lying.matchesFiles(in: folder.path))

        let misled = try LocalIdentity.open(directory: folder.path)
        #expect(!misled.isLoaded)
        #expect(misled.peerName == stranger.peerName)
        let error = #expect(throws: PeerSecurityError.self) { try misled.load() }
        #expect(error?.code == .identityChanged)
        #expect(error?.message.contains("Restart peercollab") == true)
        #expect(!FileManager.default.fileExists(atPath: folder.file(IdentitySummary.fileName)))
        // The next start loads the files and is right again.
        let next = try LocalIdentity.open(directory: folder.path)
        #expect(next.isLoaded)
        #expect(next.peerName == real.peerName)
    }

    @Test func aCertificateReplacedAfterTheStartFailsTheLoadAndTheFingerprintStays() throws {
        let folder = try TemporaryFolder()
        _ = try LocalIdentity.open(directory: folder.path)
        let lazy = try LocalIdentity.open(directory: folder.path)
        let shown = lazy.fingerprint
        // Same key, new certificate: what another program renewing it would leave.
        var other = try PeerIdentity.loadOrCreate(directory: folder.path)
        try other.renew()
        #expect(other.peerName == lazy.peerName)
        let error = #expect(throws: PeerSecurityError.self) { try lazy.load() }
        #expect(error?.code == .identityChanged)
        #expect(error?.message.contains(shown.description) == true)
        #expect(lazy.fingerprint == shown)
        #expect(try LocalIdentity.open(directory: folder.path).fingerprint == other.fingerprint)
    }

    @Test func aKeyDamagedAfterTheStartFailsTheLoadWithTheReason() throws {
        let folder = try TemporaryFolder()
        _ = try LocalIdentity.open(directory: folder.path)
        let lazy = try LocalIdentity.open(directory: folder.path)
        #expect(!lazy.isLoaded)
        let keyPath = folder.file(PeerIdentity.keyFileName)
        let handle = try #require(FileHandle(forWritingAtPath: keyPath))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data("-----BEGIN PRIVATE KEY-----\nnonsense\n".utf8))
        try handle.close()
        let error = #expect(throws: PeerSecurityError.self) { try lazy.load() }
        #expect(error?.code == .malformedFile)
        #expect(!lazy.isLoaded)
    }

    @Test func aLazyChannelLoadsTheIdentityAtItsFirstConnection() async throws {
        let folder = try TemporaryFolder()
        let made = try LocalIdentity.open(directory: folder.file("alice"))
        let alice = try LocalIdentity.open(directory: folder.file("alice"))
        #expect(!alice.isLoaded)
        let server = try await TestServer.start(secure: SecureChannel(identity: alice))
        #expect(!alice.isLoaded)

        let bob = try makeIdentity(in: folder, "bob")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let connection = try await SecureChannel(identity: bob).clientConnect(
            group: group, host: "127.0.0.1", port: server.port, expecting: made.peerName)
        #expect(connection.peer.peerName == made.peerName)
        #expect(alice.isLoaded)
        #expect(await eventually { server.log.authenticated.first?.peerName == bob.peerName })
        try await connection.channel.close()
        try await group.shutdownGracefully()
        try await server.stop()
    }
}

/// A small deterministic generator, so random-looking tests repeat exactly (the same as
/// CollaborationTests' own; test targets share no support module).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

#if canImport(Glibc)
import Glibc
#endif
