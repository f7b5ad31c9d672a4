import DBus
import Foundation
import PeerCollabAPI
import Testing
import TestSupport

/// The figures of issue 16 under a flood from one host: 1,000 TLS sessions with fresh
/// Ed25519 keys (from 6 addresses) and 64 silent sockets, while a real peer connects and
/// changes its presence. It checks behaviour (the real peer gets in, its presence arrives,
/// descriptors and memory stay bounded) and prints the figures; it is slow, so it runs
/// only with PEERCOLLAB_FLOOD_FIGURES=1.
@Suite(.enabled(
    if: NetworkLab.isAvailable && pythonCryptographyAvailable && ProcessInfo.processInfo.environment["PEERCOLLAB_FLOOD_FIGURES"] == "1",
    "set PEERCOLLAB_FLOOD_FIGURES=1 (needs root, iproute2, python3-cryptography)"))
struct FloodFiguresTests {
    static func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return 0 }
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        return Int(fields[11])! + Int(fields[12])!
    }

    static func descriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    @Test func aRealPeerUnderAFloodOfFreshKeysAndSilentSockets() async throws {
        let lab = try NetworkLab(hosts: 3)
        try await lab.withLogs {
            let a = try await LabDaemon(lab: lab, host: 0, signIn: nil)
            let b = try await LabDaemon(lab: lab, host: 1, signIn: "near-me")
            let portB = try await b.port
            let pid = b.daemon.pid
            let sources = (0..<6).map { "192.0.2.\(200 + $0)" }
            for source in sources {
                _ = try await lab.run(on: 2, NetworkLab.ip, ["addr", "add", "\(source)/24", "dev", "eth0", "nodad"])
            }
            let script = """
                import datetime, socket, ssl, tempfile, threading, time
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
                    ctx.load_cert_chain(folder + "/c.pem", folder + "/k.pem")
                    ctx.set_alpn_protocols(["peercollab/1"])
                    return ctx
                silent = []
                for _ in range(64):
                    try: silent.append(socket.create_connection(("\(lab.ipv4(1))", \(portB)), timeout=2, source_address=("\(lab.ipv4(2))", 0)))
                    except OSError: pass
                print("silent", len(silent), flush=True)
                sources = "\(sources.joined(separator: " "))".split()
                done = {"tls": 0, "refused": 0}
                held = []
                start = time.monotonic()
                for i in range(1000):
                    try:
                        raw = socket.create_connection(("\(lab.ipv4(1))", \(portB)), timeout=3, source_address=(sources[i % 6], 0))
                        tls = context().wrap_socket(raw)
                        held.append(tls)
                        done["tls"] += 1
                        if len(held) > 48: held.pop(0).close()
                    except OSError:
                        done["refused"] += 1
                print("flood", done["tls"], "handshakes", done["refused"], "refused in", round(time.monotonic() - start, 1), "s", flush=True)
                time.sleep(30)
                """
            let command = lab.prefix(2) + ["/usr/bin/env", "python3", "-u", "-c", script]
            let rssBefore = PartialFrameFloodTests.residentKiB(pid)
            let ticksBefore = Self.cpuTicks(pid)
            let flood = try Subprocess(command[0], Array(command.dropFirst()), captureOutput: true)
            defer { flood.signal(SIGKILL) }
            let silent = flood.readStandardOutput(until: .now + .seconds(15)) { $0.contains("silent") }
            // The real peer, while the flood goes on.
            try await Task.sleep(for: .seconds(2))
            var peakFDs = Self.descriptors(pid)
            var peakRSS = PartialFrameFloodTests.residentKiB(pid)
            // A signs in near me: found, dialled, proved and shown on B, all under the flood.
            let started = ContinuousClock.now
            try await a.managerCall("SignIn", [.string("near-me")])
            let pathOnB = try DBusObjectPath(PeerCollabBus.peerPath("\(try await a.peerName)"))
            _ = try await b.waitForPeers("B shows A", timeout: .seconds(60)) { $0[pathOnB]?["DisplayName"]?.stringValue?.isEmpty == false }
            let connectTime = ContinuousClock.now - started
            let presenceStart = ContinuousClock.now
            try await a.managerCall("SetPresence", [.string("busy"), .string("flooded")])
            try await eventually(within: .seconds(20), "B sees A busy") {
                (try? await b.property(pathOnB, PeerCollabBus.Interface.peer, "PresenceStatus").stringValue) == "busy" ? true : nil
            }
            let presenceLatency = ContinuousClock.now - presenceStart
            let result = flood.readStandardOutput(until: .now + .seconds(120)) { $0.contains("refused in") }
            peakFDs = max(peakFDs, Self.descriptors(pid))
            peakRSS = max(peakRSS, PartialFrameFloodTests.residentKiB(pid))
            let cpu = Double(Self.cpuTicks(pid) - ticksBefore) / Double(sysconf(Int32(_SC_CLK_TCK)))
            print("""
                flood figures: \(silent.split(separator: "\n").joined(separator: " ")) sockets; \(result.split(separator: "\n").joined(separator: " | ")); \
                real peer connect \(connectTime), presence latency \(presenceLatency); B's descriptors \(peakFDs), RSS \(rssBefore) -> \(peakRSS) KiB, CPU \(cpu) s
                """)
            #expect(peakFDs < 400)
            #expect(peakRSS - rssBefore < 64 * 1024)
            let refusals = try #require(try await AutoDiscoveryLabTests.checks(b).checks["peer connections"])
            print("flood diagnose: \(refusals.detail)")
        }
    }
}
