import Foundation
import Testing
import TestSupport

@testable import PeerSecurity

@Suite struct PeerIdentityTests {
    @Test func firstStartMakesKeyAndCertificate() throws {
        let folder = try TemporaryFolder()
        let directory = folder.file("identity")
        let identity = try PeerIdentity.loadOrCreate(directory: directory)

        let keyPath = directory + "/" + PeerIdentity.keyFileName
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let keyText = try String(contentsOfFile: keyPath, encoding: .utf8)
        #expect(keyText.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(identity.peerName == PeerName(publicKeyDER: identity.publicKeyDER))
        #expect(identity.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        #expect(identity.fingerprint == Fingerprint(certificateDER: identity.certificateDER))
        let now = Int64(Date().timeIntervalSince1970)
        #expect(identity.notAfter > now + 360 * 86_400)
        #expect(identity.certificate.notBefore < now)
        // No temporary files are left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(names == [PeerIdentity.certificateFileName, PeerIdentity.keyFileName])
    }

    @Test func reloadGivesTheSameIdentity() throws {
        let folder = try TemporaryFolder()
        let first = try PeerIdentity.loadOrCreate(directory: folder.path)
        let second = try PeerIdentity.loadOrCreate(directory: folder.path)
        #expect(first.peerName == second.peerName)
        #expect(first.fingerprint == second.fingerprint)
        #expect(first.certificateDER == second.certificateDER)
    }

    @Test func aKeyOthersCanReadIsRefusedWithTheFix() throws {
        let folder = try TemporaryFolder()
        _ = try PeerIdentity.loadOrCreate(directory: folder.path)
        let keyPath = folder.file(PeerIdentity.keyFileName)
        #expect(chmod(keyPath, 0o644) == 0)
        let error = #expect(throws: PeerSecurityError.self) { try PeerIdentity.loadOrCreate(directory: folder.path) }
        #expect(error?.code == .keyFileExposed)
        #expect(error?.message.contains("chmod 600 \(keyPath)") == true)
        // Group-readable alone is refused too; 0600 works again.
        #expect(chmod(keyPath, 0o640) == 0)
        #expect(throws: PeerSecurityError.self) { try PeerIdentity.loadOrCreate(directory: folder.path) }
        #expect(chmod(keyPath, 0o600) == 0)
        _ = try PeerIdentity.loadOrCreate(directory: folder.path)
    }

    @Test func aKeyOwnedByAnotherUserIsRefused() throws {
        guard geteuid() == 0 else { return }  // only root can give a file away
        let folder = try TemporaryFolder()
        _ = try PeerIdentity.loadOrCreate(directory: folder.path)
        let keyPath = folder.file(PeerIdentity.keyFileName)
        #expect(chown(keyPath, 65534, 65534) == 0)
        let error = #expect(throws: PeerSecurityError.self) { try PeerIdentity.loadOrCreate(directory: folder.path) }
        #expect(error?.code == .keyFileNotOwned)
    }

    @Test func renewalKeepsTheNameAndChangesTheFingerprint() throws {
        let folder = try TemporaryFolder()
        var identity = try PeerIdentity.loadOrCreate(directory: folder.path)
        let before = identity
        #expect(try identity.renewIfNeeded() == false)
        #expect(identity.fingerprint == before.fingerprint)

        // Eleven months on, less than 30 days are left: renew.
        let later = Int64(Date().timeIntervalSince1970) + 340 * 86_400
        #expect(try identity.renewIfNeeded(now: later))
        #expect(identity.peerName == before.peerName)
        #expect(identity.fingerprint != before.fingerprint)

        let reloaded = try PeerIdentity.loadOrCreate(directory: folder.path)
        #expect(reloaded.fingerprint == identity.fingerprint)
        #expect(reloaded.peerName == before.peerName)
    }

    @Test func anExpiringCertificateIsRenewedOnLoad() throws {
        let folder = try TemporaryFolder()
        let identity = try PeerIdentity.loadOrCreate(directory: folder.path)
        let shortLived = try PeerCertificate.issueSelfSigned(key: identity.privateKey, notAfterOffset: 86_400)
        try IdentityFile.writeAtomically(Array(shortLived.pemEncoded.utf8), to: folder.file(PeerIdentity.certificateFileName), mode: 0o644)
        let reloaded = try PeerIdentity.loadOrCreate(directory: folder.path)
        #expect(reloaded.peerName == identity.peerName)
        #expect(reloaded.fingerprint != shortLived.fingerprint)
        #expect(reloaded.notAfter > shortLived.notAfter)
    }

    @Test func aCorruptKeyFileIsReportedNotReplaced() throws {
        let folder = try TemporaryFolder()
        try IdentityFile.writeAtomically(Array("-----BEGIN PRIVATE KEY-----\ngarbage\n".utf8), to: folder.file(PeerIdentity.keyFileName), mode: 0o600)
        let error = #expect(throws: PeerSecurityError.self) { try PeerIdentity.loadOrCreate(directory: folder.path) }
        #expect(error?.code == .malformedFile)
        #expect(try String(contentsOfFile: folder.file(PeerIdentity.keyFileName), encoding: .utf8).contains("garbage"))
    }

    @Test func aKeyOfAnotherTypeIsRefused() throws {
        let folder = try TemporaryFolder()
        let keyPath = folder.file(PeerIdentity.keyFileName)
        let run = try runProgram("/usr/bin/openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyPath])
        #expect(run.status == 0)
        #expect(chmod(keyPath, 0o600) == 0)
        let error = #expect(throws: PeerSecurityError.self) { try PeerIdentity.loadOrCreate(directory: folder.path) }
        #expect(error?.message.contains("Ed25519") == true)
    }

    @Test func certificateMatchesWhatTheOpenSSLCommandSees() throws {
        let folder = try TemporaryFolder()
        let identity = try PeerIdentity.loadOrCreate(directory: folder.path)
        let certificatePath = folder.file(PeerIdentity.certificateFileName)
        let fingerprint = try runProgram("/usr/bin/openssl", ["x509", "-in", certificatePath, "-noout", "-fingerprint", "-sha256"])
        #expect(fingerprint.output.contains("=\(identity.fingerprint)"))
        let text = try runProgram("/usr/bin/openssl", ["x509", "-in", certificatePath, "-noout", "-text"])
        #expect(text.output.contains("Version: 3"))
        #expect(text.output.contains("CN = \(identity.peerName)"))
        #expect(text.output.contains("CA:TRUE"))
        #expect(text.output.contains("Digital Signature, Certificate Sign"))
        #expect(text.output.contains("Subject Key Identifier"))
        #expect(text.output.contains("ED25519"))
        let verify = try runProgram("/usr/bin/openssl", ["verify", "-CAfile", certificatePath, certificatePath])
        #expect(verify.status == 0)
        // The peer name is the hash of the SPKI the openssl command extracts.
        let spkiPath = folder.file("spki.der")
        _ = try runProgram("/usr/bin/openssl", ["pkey", "-in", folder.file(PeerIdentity.keyFileName), "-pubout", "-outform", "DER", "-out", spkiPath])
        let spki = try [UInt8](Data(contentsOf: URL(fileURLWithPath: spkiPath)))
        #expect(PeerName(publicKeyDER: spki) == identity.peerName)
    }

    @Test func serialsAreRandomAndLong() throws {
        let folder = try TemporaryFolder()
        let identity = try PeerIdentity.loadOrCreate(directory: folder.path)
        var serials: Set<String> = []
        for _ in 0..<3 {
            let certificate = try PeerCertificate.issueSelfSigned(key: identity.privateKey)
            let path = folder.file("c.pem")
            try certificate.pemEncoded.write(toFile: path, atomically: true, encoding: .utf8)
            let serial = try runProgram("/usr/bin/openssl", ["x509", "-in", path, "-noout", "-serial"]).output
            #expect(serial.trimmingCharacters(in: .whitespacesAndNewlines).count == "serial=".count + 32)
            serials.insert(serial)
        }
        #expect(serials.count == 3)
    }

    @Test func hostileCertificateBytesAreRefused() {
        let inputs: [[UInt8]] = [[], [0x30], [0x30, 0x82, 0xFF, 0xFF], [UInt8](repeating: 0x30, count: 4096), Array("not der".utf8)]
        for input in inputs {
            #expect(throws: PeerSecurityError.self) { try PeerCertificate(derEncoded: input) }
        }
        #expect(throws: PeerSecurityError.self) { try PeerCertificate(pemEncoded: "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n") }
    }

    @Test func certificateRoundTripsThroughPEMAndDER() throws {
        let folder = try TemporaryFolder()
        let identity = try PeerIdentity.loadOrCreate(directory: folder.path)
        let fromPEM = try PeerCertificate(pemEncoded: identity.certificatePEM)
        let fromDER = try PeerCertificate(derEncoded: identity.certificateDER)
        #expect(fromPEM == identity.certificate)
        #expect(fromDER == identity.certificate)
        // Trailing bytes after the certificate are refused.
        #expect(throws: PeerSecurityError.self) { try PeerCertificate(derEncoded: identity.certificateDER + [0]) }
    }
}

/// Runs a program to completion (bounded to 20 s) and returns its status and its output
/// (stdout, then stderr).
func runProgram(_ path: String, _ arguments: [String], input: String? = nil) throws -> ProgramRun {
    let run = try ProcessRunner.run(path, arguments, input: input, timeout: .seconds(20))
    return ProgramRun(status: run.status, output: run.standardOutput + run.standardError)
}
