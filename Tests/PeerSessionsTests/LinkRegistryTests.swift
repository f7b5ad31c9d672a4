import Testing
import PeerSessions

/// One link per peer, the same one on both sides, and room for contacts among strangers.
@Suite struct LinkRegistryTests {
    typealias Registry = LinkRegistry<String>

    func admit(_ registry: inout Registry, _ link: String, id: Int, peer: String, outgoing: Bool, source: String = "10.0.0.2",
               iSortLower: Bool = true, contacts: Set<String> = []) -> Registry.Admission {
        registry.admit(link, id: id, peer: peer, isOutgoing: outgoing, source: source, iSortLower: iSortLower, isContact: contacts.contains)
    }

    @Test func whenBothDialAtOnceBothKeepTheLinkDialledByTheLowerName() {
        // I sort lower: I keep the link I dialled, whichever arrived first.
        var mine = Registry()
        if case .refuse = admit(&mine, "theirs", id: 1, peer: "zed", outgoing: false) { Issue.record("the first link is kept") }
        guard case .keep(let replaced) = admit(&mine, "mine", id: 2, peer: "zed", outgoing: true) else {
            Issue.record("my dialled link must replace theirs"); return
        }
        #expect(replaced == "theirs")
        #expect(mine.link(ofPeer: "zed") == "mine")
        #expect(mine.peer(ofLink: 1) == nil)
        // The other side (it sorts higher) refuses its own dialled link when mine is there.
        var theirs = Registry()
        _ = admit(&theirs, "dialled-by-lower", id: 7, peer: "abe", outgoing: false, iSortLower: false)
        guard case .refuse(.duplicate) = admit(&theirs, "dialled-by-higher", id: 8, peer: "abe", outgoing: true, iSortLower: false) else {
            Issue.record("the higher name's dialled link must be refused"); return
        }
        #expect(theirs.link(ofPeer: "abe") == "dialled-by-lower")
    }

    @Test func strangersAreBoundedPerSourceAndInAllWhileContactsAlwaysGetIn() {
        var limits = Registry.Limits()
        limits.strangers = 5
        limits.strangersPerSource = 2
        var registry = Registry(limits: limits)
        for index in 0..<2 { _ = admit(&registry, "s\(index)", id: index, peer: "s\(index)", outgoing: false, source: "10.0.0.66") }
        guard case .refuse(.tooManyStrangers(fromSource: true, connected: 2)) =
            admit(&registry, "s2", id: 2, peer: "s2", outgoing: false, source: "10.0.0.66") else {
            Issue.record("a third stranger from one source must be refused"); return
        }
        for index in 3..<6 { _ = admit(&registry, "s\(index)", id: index, peer: "s\(index)", outgoing: false, source: "10.0.1.\(index)") }
        guard case .refuse(.tooManyStrangers(fromSource: false, connected: 5)) =
            admit(&registry, "s9", id: 9, peer: "s9", outgoing: false, source: "10.0.2.9") else {
            Issue.record("a sixth stranger must be refused"); return
        }
        guard case .keep = admit(&registry, "grace", id: 10, peer: "grace", outgoing: false, source: "10.0.0.66", contacts: ["grace"]) else {
            Issue.record("a contact must get in"); return
        }
        #expect(registry.strangersRefused == 2)
        #expect(registry.count == 6)
        let detached = registry.detach(0)
        #expect(detached == "s0")
        guard case .keep = admit(&registry, "s2", id: 11, peer: "s2", outgoing: false, source: "10.0.0.66", contacts: ["grace"]) else {
            Issue.record("a place freed is a place"); return
        }
    }

    @Test func staleIsNewsOnceAndEndsWithTheLink() {
        var registry = Registry()
        _ = admit(&registry, "a", id: 1, peer: "ada", outgoing: true)
        let news = registry.markStale(1)
        let again = registry.markStale(1)
        #expect(news && !again)
        #expect(registry.isStale(1))
        let fresh = registry.markFresh(1)
        let freshAgain = registry.markFresh(1)
        #expect(fresh && !freshAgain)
        _ = registry.markStale(1)
        registry.detach(1)
        #expect(!registry.isStale(1))
        let unknown = registry.markStale(1)
        #expect(!unknown, "an unknown link cannot go stale")
    }
}
