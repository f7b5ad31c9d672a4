import Foundation
import NIOCore
import Testing

@testable import Discovery

/// Real interop on a two-namespace lab (see `BuiltinMDNSLab`): our backend runs in a child
/// process inside a namespace (this test binary again, in "child" mode), python-zeroconf,
/// Avahi and our own browser look from the other namespace. Needs root and iproute2;
/// skipped with a reason otherwise. Serialized (also the tests in extensions in other
/// files) because they time events on a shared two-core machine.
@Suite(.serialized) struct BuiltinMDNSNamespaceTests {
    static let isRoot = BuiltinMDNSLab.isRoot
    static let childRole = ProcessInfo.processInfo.environment["PC_MDNS_CHILD_ROLE"]
    typealias Lab = BuiltinMDNSLab.Lab

    /// Child mode: runs one backend in the namespace it was started in and prints, with the
    /// milliseconds since it began, "published", "announced" (probing and both announcements
    /// done), "browsing" and each event. Roles: "publish" (withdraws when a line comes on
    /// stdin), "browse", "publish-browse" (both).
    @Test(.enabled(if: childRole != nil, "runs only as a child of the namespace tests"))
    func childMode() async throws {
        let environment = ProcessInfo.processInfo.environment
        let role = Self.childRole ?? ""
        let ttl = UInt32(environment["PC_MDNS_CHILD_TTL"] ?? "") ?? 120
        let backend = BuiltinMDNSBackend(configuration: .init(allowInterfaces: [environment["PC_MDNS_CHILD_INTERFACE"] ?? "vA"], ttls: .init(hostRecords: ttl, otherRecords: ttl)))
        let start = NIODeadline.now()
        @Sendable func say(_ text: String) {
            FileHandle.standardOutput.write(Data("MDNSCHILD \((NIODeadline.now() - start).nanoseconds / 1_000_000) \(text)\n".utf8))
        }
        var browsing: Task<Void, Never>?
        if role.contains("browse") {
            let events = try await backend.browse()
            say("browsing")
            browsing = Task {
                for await event in events {
                    switch event {
                    case .found(let service): say("found \(service.instanceName) \(service.addresses) \(service.txt)")
                    case .lost(let name): say("lost \(name)")
                    case .renamed(let name): say("renamed \(name)")
                    }
                }
            }
        }
        if role.contains("publish") {
            let name = environment["PC_MDNS_CHILD_NAME"] ?? "Alice"
            try await backend.publish(ServiceAnnouncement(instanceName: name, port: 4242, txt: ["v": "1", "pn": name]))
            say("published")
            let announced = Task {
                for _ in 0..<200 {
                    if await backend.responder.phase == .announced { return say("announced") }
                    try? await Task.sleep(nanoseconds: 20_000_000)
                }
            }
            // Withdraw when the parent writes a line, then exit.
            _ = await Task.detached { readLine() }.value
            announced.cancel()
            await backend.withdraw()
            say("withdrawn")
            try await Task.sleep(nanoseconds: 300_000_000)
        } else {
            await browsing?.value
        }
        browsing?.cancel()
        await backend.shutdown()
    }

    @Test(.enabled(if: isRoot && childRole == nil, "needs root and iproute2 for network namespaces"), .enabled(if: BuiltinMDNSLab.hasZeroconf, "needs python3 with zeroconf"), .timeLimit(.minutes(2)))
    func publishAndBrowseAcrossNamespacesWithZeroconfAndGoodbye() async throws {
        let lab = Lab(tag: "z")
        lab.up()
        defer { lab.down() }
        let publisher = try lab.child(lab.a, role: "publish", interface: "vA", name: "Alice")
        defer { publisher.stop(signal: SIGKILL) }
        #expect(await publisher.waitFor("published", seconds: 60) != nil, "the publisher never started")

        let zeroconf = try lab.zeroconf(lab.b, address: "192.0.2.2", seconds: 20)
        defer { zeroconf.stop() }
        let browser = try lab.child(lab.b, role: "browse", interface: "vB")
        defer { browser.stop(signal: SIGKILL) }

        let found = await browser.waitFor("found Alice", seconds: 60)
        #expect(found != nil, "our browser in B never found the service published in A")
        #expect(found?.1.contains("192.0.2.1") == true)
        #expect(found?.1.contains("2001:db8::1") == true)
        #expect(found?.1.contains("\"pn\": \"Alice\"") == true)
        let zeroconfFound = await zeroconf.waitFor("zeroconf found Alice", seconds: 15)
        #expect(zeroconfFound != nil, "python-zeroconf in B never found the service")
        #expect(zeroconfFound?.1.contains("'pn': 'Alice'") == true)

        let withdrawAt = Date()
        publisher.send("withdraw")
        let lost = await browser.waitFor("lost Alice", seconds: 10)
        #expect(lost != nil, "the goodbye did not make the browser report the service lost")
        if let lost { print("measured: withdraw to lost \(Int(lost.0.timeIntervalSince(withdrawAt) * 1000)) ms") }
    }
}
