import DBus
import Foundation
import TestSupport
import Testing

@testable import Discovery

/// AvahiBackend against real avahi-daemons in network namespaces (root only). Serialized:
/// each test builds its own lab, and the machine is small.
@Suite("AvahiBackend with real avahi-daemons", .serialized, .enabled(if: getuid() == 0))
struct AvahiLabTests {
    private func backend(_ avahi: LabAvahi) async throws -> AvahiBackend {
        try await AvahiBackend.connect(
            bus: .address(avahi.busAddress), options: .init(allowedInterfaces: ["eth0"]))
    }

    /// Waits until `avahi-browse -rpt` on `avahi`'s host shows a resolved line for `name` and returns it.
    private func avahiBrowseLine(_ avahi: LabAvahi, name: String) async throws -> String {
        try await eventually(within: .seconds(20), "avahi-browse on \(avahi.hostName) to resolve \(name)") {
            let output = try await avahi.run("avahi-browse", ["-rpt", ServiceAnnouncement.serviceType]).standardOutput
            return output.split(separator: "\n").first { $0.hasPrefix("=;eth0;IPv4;\(name);") }.map(String.init)
        }
    }

    private func waitEstablished(_ backend: AvahiBackend) async throws {
        for _ in 0..<300 {
            if await backend.isAnnouncementEstablished { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("our announcement was never established: \(await backend.diagnose())")
    }

    @Test func ourAnnouncementIsSeenByAvahiBrowseAndPythonZeroconf() async throws {
        let lab = try NetworkLab(hosts: 3)
        let a = try await LabAvahi(lab: lab, host: 0)
        let b = try await LabAvahi(lab: lab, host: 1)
        let ours = try await backend(a)
        try await ours.publish(
            ServiceAnnouncement(instanceName: "alice-lab", port: 4242, txt: ["v": "1", "pn": "alice", "dn": "Alice Ü"]))
        try await waitEstablished(ours)

        let line = try await avahiBrowseLine(b, name: "alice-lab")
        // The lab's Avahi sends only A records over IPv4 (see LabAvahi), so this address is
        // the one our announcement's host has there.
        #expect(line.contains(";_peercollab._tcp;local;\(a.hostName).local;\(lab.ipv4(0));4242;"), "\(line)")
        #expect(line.contains("\"pn=alice\""))
        #expect(line.contains("\"v=1\""))

        // python-zeroconf in a host without Avahi (host 2, 192.0.2.3), so that it owns port 5353 there.
        let script = """
            import time
            from zeroconf import Zeroconf, ServiceBrowser, ServiceListener
            zc = Zeroconf(interfaces=['192.0.2.3'])
            class L(ServiceListener):
                def add_service(self, zc, t, n):
                    i = zc.get_service_info(t, n, timeout=3000)
                    if i: print('FOUND', n, i.port, i.properties.get(b'pn'), i.parsed_addresses(), flush=True)
                def update_service(self, zc, t, n): pass
                def remove_service(self, zc, t, n): pass
            ServiceBrowser(zc, '_peercollab._tcp.local.', L())
            time.sleep(4)
            zc.close()
            """
        let zeroconf = try await lab.run(on: 2, "python3", ["-c", script])
        #expect(zeroconf.standardOutput.contains("FOUND alice-lab._peercollab._tcp.local. 4242 b'alice'"), "\(zeroconf)")
        #expect(zeroconf.standardOutput.contains("192.0.2.1"))

        let diagnosis = await ours.diagnose()
        #expect(diagnosis.checks.allSatisfy { $0.ok }, "\(diagnosis)")
        #expect(diagnosis.checks.contains { $0.subject == "avahi-daemon" && $0.detail.contains("avahi 0.") })
        await ours.shutdown()
    }

    @Test func browsingFindsAvahiPublishedServicesBeforeAndAfterStartAndLosesThem() async throws {
        let lab = try NetworkLab(hosts: 2)
        let a = try await LabAvahi(lab: lab, host: 0)
        let b = try await LabAvahi(lab: lab, host: 1)
        let publisher = try a.spawn(["avahi-publish", "-s", "bob-lab", "_peercollab._tcp", "5151", "pn=bob", "v=1"], log: "bob.log")
        // Present on the link (and in B's cache) before we browse.
        _ = try await avahiBrowseLine(b, name: "bob-lab")

        let ours = try await backend(b)
        let started = ContinuousClock.now
        let events = await LabEventLog.following(try await ours.browse())
        _ = try await events.found("bob-lab")
        let oursTook = ContinuousClock.now - started
        // Avahi reports bob-lab over IPv4 and over IPv6; both resolutions merge into one service,
        // IPv4 first.
        let bob = try await events.found("bob-lab", where: { Set($0.addresses).isSuperset(of: [lab.ipv4(0), lab.ipv6(0)]) })
        let bothTook = ContinuousClock.now - started
        #expect(bob.addresses == [lab.ipv4(0), lab.ipv6(0)])
        #expect(bob.port == 5151)
        #expect(bob.txt["pn"] == "bob")
        #expect(bob.txt["v"] == "1")
        #expect(bob.hostName == "\(a.hostName).local")
        #expect(bob.interfaceName == "eth0")

        // avahi-browse in the same run, same cache state, for comparison.
        let browseStarted = ContinuousClock.now
        let reference = try await b.run("avahi-browse", ["-rpt", "_peercollab._tcp"])
        let avahiTook = ContinuousClock.now - browseStarted
        #expect(reference.standardOutput.contains("bob-lab"))
        print("MEASURE browse→found, service already present: AvahiBackend first .found \(oursTook), resolved \(bothTook); avahi-browse -rpt (to exit) \(avahiTook)")


        publisher.signal(SIGTERM)
        try await events.lost("bob-lab")

        let mark = await events.count
        let carol = try a.spawn(["avahi-publish", "-s", "carol-lab", "_peercollab._tcp", "6161", "pn=carol"], log: "carol.log")
        // A service that appears right after another left is found in both families, and lost.
        let found = try await events.found("carol-lab", from: mark, where: { Set($0.addresses).isSuperset(of: [lab.ipv4(0), lab.ipv6(0)]) })
        #expect(found.port == 6161)
        #expect(found.txt == ["pn": "carol"])
        carol.signal(SIGTERM)
        try await events.lost("carol-lab", from: mark)
        await events.stop()
        await ours.shutdown()
    }

    /// avahi-browse -p writes a label's special bytes as `\DDD` (decimal).
    static func unescape(_ label: Substring) -> String {
        var bytes: [UInt8] = []
        var rest = Array(label.utf8)[...]
        while let byte = rest.popFirst() {
            if byte == UInt8(ascii: "\\"), rest.count >= 3, let value = UInt8(String(decoding: rest.prefix(3), as: UTF8.self)) {
                bytes.append(value)
                rest = rest.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func aNameCollisionRenamesUsAndWeStayVisible() async throws {
        let lab = try NetworkLab(hosts: 2)
        let a = try await LabAvahi(lab: lab, host: 0)
        let b = try await LabAvahi(lab: lab, host: 1)
        try b.spawn(["avahi-publish", "-s", "dup-lab", "_peercollab._tcp", "7070", "pn=other"], log: "dup.log")
        _ = try await avahiBrowseLine(a, name: "dup-lab")

        let ours = try await backend(a)
        let events = await LabEventLog.following(try await ours.browse())
        try await ours.publish(ServiceAnnouncement(instanceName: "dup-lab", port: 4343, txt: ["pn": "me"]))
        // Over the network Avahi decides which side yields (in this lab it is often the other
        // one); either way both must end up visible under distinct names, and if it was us,
        // we said so.
        let (ourLine, otherLine) = try await eventually(within: .seconds(20), "both services under distinct names in avahi-browse") {
            () async throws -> (String, String)? in
            let lines = try await b.run("avahi-browse", ["-rpt", "_peercollab._tcp"]).standardOutput.split(separator: "\n")
                .filter { $0.hasPrefix("=;eth0;IPv4;") }
            // While the clash settles a cache may pair one side's TXT with the other's port;
            // wait for the settled records.
            let mine = lines.first { $0.contains("\"pn=me\"") && $0.contains(";4343;") }
            let theirs = lines.first { $0.contains("\"pn=other\"") && $0.contains(";7070;") }
            guard let mine, let theirs else { return nil }
            return (String(mine), String(theirs))
        }
        let ourName = Self.unescape(ourLine.split(separator: ";", omittingEmptySubsequences: false)[3])
        let otherName = Self.unescape(otherLine.split(separator: ";", omittingEmptySubsequences: false)[3])
        #expect(ourName != otherName)
        #expect(ourLine.contains(";4343;"))
        try await waitEstablished(ours)
        let announced = await ours.announcedInstanceName
        #expect(announced == ourName)
        if ourName != "dup-lab" {
            _ = try await events.wait(for: ".renamed(\(ourName))") { $0 == .renamed(ourName) }
        }

        // A second name clash on the same daemon (another local entry group) renames too.
        try a.spawn(["avahi-publish", "-s", "local-lab", "_peercollab._tcp", "7171"], log: "local.log")
        _ = try await avahiBrowseLine(a, name: "local-lab")
        let mark = await events.count
        try await ours.publish(ServiceAnnouncement(instanceName: "local-lab", port: 4343, txt: ["pn": "me"]))
        _ = try await events.wait(for: "a second .renamed", from: mark) {
            if case .renamed(let name) = $0 { return name != "local-lab" } else { return false }
        }
        await ours.shutdown()
    }

    @Test func avahiRestartsAreFollowedWithoutHelp() async throws {
        let lab = try NetworkLab(hosts: 2)
        let a = try await LabAvahi(lab: lab, host: 0)
        let b = try await LabAvahi(lab: lab, host: 1)
        let publisherSide = try await backend(a)
        let browserSide = try await backend(b)
        let events = await LabEventLog.following(try await browserSide.browse())
        try await publisherSide.publish(ServiceAnnouncement(instanceName: "eve-lab", port: 4444, txt: ["pn": "eve"]))
        _ = try await events.found("eve-lab")

        // The publishing side's daemon restarts: we announce again by ourselves.
        a.stopAvahi()
        try await events.lost("eve-lab")
        let mark = await events.count
        try await a.startAvahi()
        _ = try await events.found("eve-lab", seconds: 20, from: mark)
        _ = try await avahiBrowseLine(b, name: "eve-lab")
        #expect(await publisherSide.isAnnouncementEstablished)

        // The browsing side's daemon restarts: the stream goes on and sees new services.
        b.stopAvahi()
        try await b.startAvahi()
        let mark2 = await events.count
        try a.spawn(["avahi-publish", "-s", "frank-lab", "_peercollab._tcp", "4545"], log: "frank.log")
        let frank = try await events.found("frank-lab", seconds: 20, from: mark2)
        #expect(frank.port == 4545)
        let diagnosis = await browserSide.diagnose()
        #expect(diagnosis.checks.allSatisfy { $0.ok }, "\(diagnosis)")
        // eve-lab is known again: the last word about it is a .found (a daemon that stops may
        // first report its cache as removed).
        _ = try await events.found("eve-lab", seconds: 20, from: mark)
        let aboutEve = await events.events.filter {
            if case .found(let service) = $0 { return service.instanceName == "eve-lab" }
            return $0 == .lost(instanceName: "eve-lab")
        }
        if case .found = aboutEve.last {} else { Issue.record("eve-lab was lost after the restart: \(aboutEve)") }
        await events.stop()
        await publisherSide.shutdown()
        await browserSide.shutdown()
    }

    @Test func avahiAbsentIsATypedErrorThatSaysWhatToDo() async throws {
        let lab = try NetworkLab(hosts: 1)
        let avahi = try await LabAvahi(lab: lab, host: 0, startingAvahi: false)
        let bus = avahi.busAddress
        let connection = try DBusConnection(bus: .address(bus))
        defer { connection.close() }
        #expect(await AvahiBackend.isAvailable(on: connection) == false)
        do {
            _ = try await AvahiBackend.connect(bus: .address(bus))
            Issue.record("connect succeeded without Avahi")
        } catch {
            #expect(error.code == .notRunning)
            #expect(error.message.contains("avahi-daemon"))
            #expect(error.message.contains("builtin"))
        }
        do {
            _ = try await AvahiBackend.connect(bus: .address("unix:path=/nonexistent/peercollab-bus"))
            Issue.record("connect succeeded without a bus")
        } catch {
            #expect(error.code == .busUnavailable)
        }
        try await avahi.startAvahi()
        #expect(await AvahiBackend.isAvailable(on: connection))
    }

    @Test func oddNamesAndTXTFromTheNetworkAreHandled() async throws {
        let lab = try NetworkLab(hosts: 2)
        let a = try await LabAvahi(lab: lab, host: 0)
        let b = try await LabAvahi(lab: lab, host: 1)
        let big = "big=" + String(repeating: "x", count: 240)
        try a.spawn(
            [
                "sh", "-c",
                "exec avahi-publish -s 'dot.name ü' _peercollab._tcp 5000 'PN=ünï' \"$(printf 'bin=\\377\\376')\" "
                    + "flag \(big)",
            ], log: "odd.log")
        let ours = try await backend(b)
        let events = await LabEventLog.following(try await ours.browse())
        let odd = try await events.found("dot.name ü")
        #expect(odd.txt["pn"] == "ünï")
        #expect(odd.txt["flag"] == "")
        #expect(odd.txt["big"]?.count == 240)
        #expect(odd.txt["bin"] == nil)
        #expect(odd.port == 5000)

        // And our own odd name goes out intact.
        let publisher = try await backend(a)
        try await publisher.publish(ServiceAnnouncement(instanceName: "Ünï.code peer", port: 5001, txt: ["pn": "ü"]))
        let back = try await events.found("Ünï.code peer")
        #expect(back.txt == ["pn": "ü"])
        await events.stop()
        await publisher.shutdown()
        await ours.shutdown()
    }
}
