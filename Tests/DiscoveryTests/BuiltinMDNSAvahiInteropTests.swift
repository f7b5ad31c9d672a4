import Foundation
import Testing

@testable import Discovery

/// Interop with Avahi, software nobody here wrote: each namespace runs its own avahi-daemon
/// on a private system bus, next to our backend on the same port 5353.
extension BuiltinMDNSNamespaceTests {
    static let canRunAvahi = isRoot && childRole == nil && BuiltinMDNSLab.hasAvahi

    @Test(
        .enabled(if: canRunAvahi, "needs root, iproute2, avahi-daemon, avahi-utils and dbus-daemon"),
        .enabled(if: BuiltinMDNSLab.hasZeroconf, "needs python3 with zeroconf"), .timeLimit(.minutes(2)))
    func avahiFindsOurServiceAndWeFindAvahisAndZeroconfs() async throws {
        let lab = Lab(tag: "i")
        lab.up()
        defer { lab.down() }
        try await lab.startAvahi(in: lab.a, interface: "vA")
        try await lab.startAvahi(in: lab.b, interface: "vB")

        // In A: our responder, avahi-publish through A's daemon and python-zeroconf, all on port 5353.
        let ours = try lab.child(lab.a, role: "publish", interface: "vA", name: "Alice")
        defer { ours.stop(signal: SIGKILL) }
        let avahiPublish = try lab.avahiTool(lab.a, ["avahi-publish", "-s", "Bob", "_peercollab._tcp", "4343", "v=1", "pn=Bob"])
        defer { avahiPublish.stop() }
        let zeroconf = try lab.zeroconf(lab.a, address: "192.0.2.1", publish: "Carol", port: 4545, seconds: 60)
        defer { zeroconf.stop() }
        #expect(await ours.waitFor("announced", seconds: 60) != nil, "our responder in A never finished announcing:\n\(ours.transcript)")

        // In B: avahi-browse through B's daemon sees ours with its TXT.
        let avahiBrowse = try lab.avahiTool(lab.b, ["avahi-browse", "-rpt", "_peercollab._tcp"])
        defer { avahiBrowse.stop() }
        let resolved = await avahiBrowse.waitFor("=;vB;", ";Alice;", seconds: 15)
        #expect(resolved != nil, "avahi-browse in B never resolved our service:\n\(avahiBrowse.transcript)")
        #expect(resolved?.1.contains("\"pn=Alice\"") == true, "avahi-browse saw no pn=Alice TXT: \(resolved?.1 ?? "")")
        #expect(resolved?.1.contains(";4242;") == true)

        // And our browser in B finds Avahi's and python-zeroconf's services.
        let browser = try lab.child(lab.b, role: "browse", interface: "vB")
        defer { browser.stop(signal: SIGKILL) }
        // Avahi answers over IPv4 and IPv6 apart, each with its own family's addresses, so the
        // first `.found` may hold only IPv6 ones and an update adds 192.0.2.1.
        let bob = await browser.waitFor("found Bob ", "192.0.2.1", seconds: 60)
        #expect(bob != nil, "our browser in B never found the service avahi-publish announced in A at 192.0.2.1:\n\(browser.transcript)")
        #expect(bob?.1.contains("\"pn\": \"Bob\"") == true)
        let carol = await browser.waitFor("found Carol ", seconds: 30)
        #expect(carol != nil, "our browser in B never found the service python-zeroconf announced in A:\n\(browser.transcript)")
        #expect(carol?.1.contains("192.0.2.1") == true)
        #expect(carol?.1.contains("\"pn\": \"Carol\"") == true)
    }

    /// Our backend and avahi-daemon share port 5353 in A, each publishing; each finds the
    /// other's service and python-zeroconf's in B, and python-zeroconf in B finds both.
    @Test(
        .enabled(if: canRunAvahi, "needs root, iproute2, avahi-daemon, avahi-utils and dbus-daemon"),
        .enabled(if: BuiltinMDNSLab.hasZeroconf, "needs python3 with zeroconf"), .timeLimit(.minutes(2)))
    func sharesPort5353WithAvahiDaemon() async throws {
        let lab = Lab(tag: "s")
        lab.up()
        defer { lab.down() }
        try await lab.startAvahi(in: lab.a, interface: "vA")
        // Avahi holds 5353 first; ours binds beside it.
        let ours = try lab.child(lab.a, role: "publish-browse", interface: "vA", name: "Alice")
        defer { ours.stop(signal: SIGKILL) }
        let avahiPublish = try lab.avahiTool(lab.a, ["avahi-publish", "-s", "Bob", "_peercollab._tcp", "4343", "v=1", "pn=Bob"])
        defer { avahiPublish.stop() }
        let zeroconf = try lab.zeroconf(lab.b, address: "192.0.2.2", publish: "Zed", port: 4646, seconds: 60)
        defer { zeroconf.stop() }
        #expect(await ours.waitFor("announced", seconds: 60) != nil, "our responder never finished announcing beside avahi-daemon:\n\(ours.transcript)")

        let bob = await ours.waitFor("found Bob ", seconds: 30)
        #expect(bob != nil, "our backend never found the service of the avahi-daemon beside it:\n\(ours.transcript)")
        #expect(bob?.1.contains("\"pn\": \"Bob\"") == true)
        #expect(await ours.waitFor("found Zed ", "192.0.2.2", seconds: 30) != nil, "our backend beside avahi-daemon never found python-zeroconf's service in B")

        let avahiBrowse = try lab.avahiTool(lab.a, ["avahi-browse", "-rp", "_peercollab._tcp"])
        defer { avahiBrowse.stop() }
        let alice = await avahiBrowse.waitFor("=;vA;", ";Alice;", "pn=Alice", seconds: 15)
        #expect(alice != nil, "avahi-browse in A never resolved our service beside it:\n\(avahiBrowse.transcript)")
        #expect(await avahiBrowse.waitFor("=;vA;", ";Zed;", seconds: 15) != nil, "avahi-daemon beside us never resolved python-zeroconf's service in B")

        #expect(await zeroconf.waitFor("zeroconf found Alice", "'pn': 'Alice'", seconds: 20) != nil, "python-zeroconf in B never found ours:\n\(zeroconf.transcript)")
        #expect(await zeroconf.waitFor("zeroconf found Bob", "'pn': 'Bob'", seconds: 20) != nil, "python-zeroconf in B never found avahi's:\n\(zeroconf.transcript)")
    }

    /// Measures, in one run, browse start → found and withdraw → lost for our browser and
    /// for `avahi-browse` (cold: a fresh avahi-daemon in B), against our responder in A
    /// after its announcements. Prints the figures; asserts only that both see it happen.
    @Test(
        .enabled(if: canRunAvahi, "needs root, iproute2, avahi-daemon, avahi-utils and dbus-daemon"), .timeLimit(.minutes(2)))
    func browseLatencyBesideAvahiBrowse() async throws {
        let lab = Lab(tag: "m")
        lab.up()
        defer { lab.down() }
        let publisher = try lab.child(lab.a, role: "publish", interface: "vA", name: "Alice")
        defer { publisher.stop(signal: SIGKILL) }
        #expect(await publisher.waitFor("announced", seconds: 60) != nil, "the publisher never finished announcing")
        try await lab.startAvahi(in: lab.b, interface: "vB")
        // Past the one-second window in which a responder does not multicast a record again
        // (RFC 6762 §6), so the first query gets an answer: a service that is simply there.
        try await Task.sleep(nanoseconds: 1_500_000_000)

        // avahi-browse first, while B's daemon has nothing cached; from spawning the client.
        let avahiStart = Date()
        let avahiBrowse = try lab.avahiTool(lab.b, ["avahi-browse", "-rp", "_peercollab._tcp"])
        defer { avahiBrowse.stop() }
        let avahiFound = await avahiBrowse.waitFor("=;vB;", ";Alice;", seconds: 15)
        #expect(avahiFound != nil, "avahi-browse never resolved the service")
        try await Task.sleep(nanoseconds: 1_500_000_000)

        // Ours, a fresh process: the child's own clock from creating the backend to found.
        let browser = try lab.child(lab.b, role: "browse", interface: "vB")
        defer { browser.stop(signal: SIGKILL) }
        let found = await browser.waitFor("found Alice", seconds: 60)
        #expect(found != nil, "our browser never found the service")

        let withdrawAt = Date()
        publisher.send("withdraw")
        let lost = await browser.waitFor("lost Alice", seconds: 10)
        let avahiLost = await avahiBrowse.waitFor("-;vB;", ";Alice;", seconds: 10)
        #expect(lost != nil, "our browser never saw the goodbye")
        #expect(avahiLost != nil, "avahi-browse never saw the goodbye")

        func childMilliseconds(_ line: String?) -> Int? { line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } }
        let oursFound = childMilliseconds(found?.1)
        let theirsFound = avahiFound.map { Int($0.0.timeIntervalSince(avahiStart) * 1000) }
        let oursLost = lost.map { Int($0.0.timeIntervalSince(withdrawAt) * 1000) }
        let theirsLost = avahiLost.map { Int($0.0.timeIntervalSince(withdrawAt) * 1000) }
        func ratio(_ a: Int?, _ b: Int?) -> String {
            guard let a, let b, b > 0 else { return "n/a" }
            return String(format: "%.2f", Double(a) / Double(b))
        }
        print("measured: browse→found ours \(oursFound.map(String.init) ?? "n/a") ms, avahi-browse -rp (cold daemon) \(theirsFound.map(String.init) ?? "n/a") ms, ratio \(ratio(oursFound, theirsFound))")
        print("measured: withdraw→lost ours \(oursLost.map(String.init) ?? "n/a") ms, avahi-browse \(theirsLost.map(String.init) ?? "n/a") ms, ratio \(ratio(oursLost, theirsLost))")
    }
}
