import DBus
import Foundation
import Testing
import TestSupport

/// Sessions that send most of a maximum-size frame and then nothing: together they may hold
/// no more than the daemon's budget for partial frames; the ones past it are closed with a
/// goodbye and one log line, Diagnose counts them, and a real peer still gets in.
@Suite(.enabled(if: NetworkLab.isAvailable && pythonCryptographyAvailable, "needs root, iproute2 and python3 with cryptography"))
struct PartialFrameFloodTests {
    /// VmRSS of a process, in KiB.
    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test func partialFramesPastTheBudgetCloseTheirSessionsAndARealPeerGetsIn() async throws {
        let lab = try NetworkLab(hosts: 3)
        try await lab.withLogs {
            let a = try await LabDaemon(lab: lab, host: 0, signIn: "internet")
            let b = try await LabDaemon(lab: lab, host: 1, signIn: "internet")
            let portB = try await b.port
            let rssBefore = Self.residentKiB(b.daemon.pid)
            // Host 2 speaks from 6 addresses, 8 TLS sessions each (the most one address may
            // have handshaking), every one with a fresh Ed25519 key, and sends 250 KiB of a
            // 256 KiB frame on each: 48 × 234 KiB charged would be 11 MiB, past the 8 MiB.
            let sources = (0..<6).map { "192.0.2.\(200 + $0)" }
            for source in sources {
                _ = try await lab.run(on: 2, NetworkLab.ip, ["addr", "add", "\(source)/24", "dev", "eth0", "nodad"])
            }
            let script = """
                import datetime, os, socket, ssl, struct, sys, tempfile, time
                from cryptography import x509
                from cryptography.x509.oid import NameOID
                from cryptography.hazmat.primitives import serialization
                from cryptography.hazmat.primitives.asymmetric import ed25519
                folder = tempfile.mkdtemp()
                def context():
                    key = ed25519.Ed25519PrivateKey.generate()
                    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flood")])
                    now = datetime.datetime.now(datetime.timezone.utc)
                    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                        .not_valid_after(now + datetime.timedelta(days=30)).sign(key, None))
                    with open(folder + "/c.pem", "wb") as f: f.write(cert.public_bytes(serialization.Encoding.PEM))
                    with open(folder + "/k.pem", "wb") as f:
                        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
                    ctx.load_cert_chain(folder + "/c.pem", folder + "/k.pem")
                    ctx.set_alpn_protocols(["peercollab/1"])
                    return ctx
                partial = struct.pack(">IHH", 256 * 1024, 3, 0) + bytes(250 * 1024 - 8)
                held, failed, first = [], 0, ""
                for source in "\(sources.joined(separator: " "))".split():
                    for _ in range(8):
                        try:
                            raw = socket.create_connection(("\(lab.ipv4(1))", \(portB)), timeout=5, source_address=(source, 0))
                            tls = context().wrap_socket(raw)
                            tls.sendall(partial)
                            held.append(tls)
                        except OSError as error:
                            failed += 1
                            first = first or repr(error)
                print("holding", len(held), "failed", failed, first, flush=True)
                time.sleep(8)
                """
            let command = lab.prefix(2) + ["/usr/bin/env", "python3", "-u", "-c", script]
            let flood = try Subprocess(command[0], Array(command.dropFirst()), captureOutput: true)
            defer { flood.signal(SIGKILL) }
            let held = flood.readStandardOutput(until: .now + .seconds(30)) { $0.range(of: #"holding \d+ failed \d+.*\n"#, options: .regularExpression) != nil }
            #expect(held.contains("holding"), "the flood did not start: \(held)")
            try await eventually(within: .seconds(10), "B closes sessions past the budget (the flood: \(held))\n\(b.daemon.log.suffix(3000))") {
                b.daemon.log.contains("partial frames of all sessions hold") ? true : nil
            }
            let rssDuring = Self.residentKiB(b.daemon.pid)
            // While they are held, A reaches B by its link.
            let started = ContinuousClock.now
            let path = try await a.connect(try await b.link())
            let connectTime = ContinuousClock.now - started
            #expect(path.rawValue.hasSuffix(try await b.peerName))
            let report = try await AutoDiscoveryLabTests.checks(b)
            let refusals = try #require(report.checks["peer connections"])
            #expect(!refusals.ok, "\(refusals)")
            #expect(refusals.detail.contains("sessions closed for holding too much of unfinished frames"), "\(refusals.detail)")
            // One line for the first, however many were closed.
            #expect(b.daemon.log.components(separatedBy: "partial frames of all sessions hold").count - 1 == 1, "\(b.daemon.log.suffix(3000))")
            print("partial-frame flood: \(held.trimmingCharacters(in: .whitespacesAndNewlines)); B's RSS \(rssBefore) KiB before, \(rssDuring) KiB during; A connected in \(connectTime); \(refusals.detail)")
            #expect(rssDuring - rssBefore < 24 * 1024, "B grew by \(rssDuring - rssBefore) KiB under the flood")
        }
    }
}

/// Whether python3 has the cryptography package (python3-cryptography), to make keys and certificates.
let pythonCryptographyAvailable: Bool = {
    (try? ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import cryptography"]))?.status == 0
}()
