import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension BuiltinMDNSBackend {
    /// Interfaces used and left out (and why), whether port 5353 is shared, and whether our
    /// own multicast comes back on each interface (a query is sent to find out).
    public func diagnose() async -> DiscoveryDiagnosis {
        var checks: [DiscoveryDiagnosis.Check] = []
        if !isShutDown, receiveLoop == nil {
            do {
                try await refreshStarting()
            } catch {
                checks.append(.init(subject: "mDNS sockets", ok: false, detail: "\(error)", advice: "Another program holds UDP port 5353 exclusively; stop it or use the Avahi backend."))
                return DiscoveryDiagnosis(backend: name, checks: checks)
            }
        }
        updateInterfaces()
        let filter = configuration.filter
        for interface in allInterfaces {
            if let reason = filter.exclusionReason(for: interface) {
                checks.append(.init(subject: "interface \(interface.name)", ok: true, detail: "not used: \(reason)"))
            } else {
                let addresses = interface.addresses.map { MDNSInterface.format($0.bytes) }.joined(separator: ", ")
                checks.append(.init(subject: "interface \(interface.name)", ok: true, detail: "used (\(addresses))"))
            }
        }
        if activeInterfaces.isEmpty {
            checks.append(.init(
                subject: "interfaces", ok: false, detail: "no interface passes the filter",
                advice: "Connect to a network, or name the interface in the discovery allow list."))
        }
        // Another responder on this host (avahi-daemon, most often) gets part of the
        // multicast and answers for the host too: Avahi warns this makes mDNS unreliable.
        let holders = Self.socketsOnPort5353()
        let others = holders - sockets.count
        checks.append(.init(
            subject: "UDP port 5353", ok: others <= 0,
            detail: others > 0
                ? "shared with \(others) socket(s) of another mDNS responder on this host, such as avahi-daemon; two responders make discovery unreliable"
                : "only our sockets",
            advice: others > 0
                ? "If avahi-daemon runs (systemctl status avahi-daemon), set the discovery backend to auto or avahi and restart peercollab; otherwise stop the other responder."
                : ""))

        // Our own query must come back to us through multicast loopback.
        let start = NIODeadline.now()
        for index in activeInterfaces.keys.sorted() {
            send(MDNSOutgoingPacket(message: DNSMessage(questions: [DNSQuestion(name: MDNSResponder.serviceTypeName, type: .ptr)]), interfaceIndex: index, destination: .multicast(nil)))
        }
        try? await Task.sleep(nanoseconds: 300_000_000)
        for interface in activeInterfaces.values.sorted(by: { $0.index < $1.index }) {
            let echoed = (lastEcho[interface.index] ?? .uptimeNanoseconds(0)) >= start
            checks.append(.init(
                subject: "multicast on \(interface.name)", ok: echoed,
                detail: echoed ? "our own query came back" : "our own query did not come back within 300 ms",
                advice: echoed ? "" : "Check that \(interface.name) has the MULTICAST flag (ip link set \(interface.name) multicast on) and that no firewall drops UDP 5353 to 224.0.0.251 / ff02::fb."))
        }
        if droppedOffLink > 0 || droppedMalformed > 0 {
            checks.append(.init(subject: "packets dropped", ok: true, detail: "\(droppedOffLink) from off the link, \(droppedMalformed) malformed"))
        }
        return DiscoveryDiagnosis(backend: name, checks: checks)
    }

    private func refreshStarting() async throws {
        _ = try await browse()
    }

    /// Sockets bound to UDP port 5353 in this network namespace, from /proc/net/udp{,6}.
    static func socketsOnPort5353() -> Int {
        var count = 0
        for path in ["/proc/net/udp", "/proc/net/udp6"] {
            guard let file = fopen(path, "r") else { continue }
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 512)
            var lines = 0
            while lines < 100_000, fgets(&line, Int32(line.count), file) != nil {
                lines += 1
                let text = String(cString: line)
                // "  sl  local_address rem_address ..." with local as HEXADDR:HEXPORT
                let fields = text.split(separator: " ", omittingEmptySubsequences: true)
                if fields.count > 2, fields[1].hasSuffix(":14E9") { count += 1 }
            }
        }
        return count
    }
}
